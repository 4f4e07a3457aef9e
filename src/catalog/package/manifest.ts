// The app manifest: what a developer writes in app.json (appManifestSchema) and what a package carries in its
// manifest.json (packageManifestSchema: the same plus the image's size and hash, added by `berth app pack`).
// Strict: unknown keys are refused, so a typo never passes silently. Errors name the key path.
import semver from 'semver';
import { array, boolean, formatPath, integer, object, oneOf, record, string } from '../../validation/schema.ts';
import type { Infer, Issue, Schema } from '../../validation/schema.ts';
import { PackageError } from './package-error.ts';
import { DEFAULT_UNIT_USER, EGRESS_KINDS } from '../../smm/exec-env-policy.ts';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const VENDOR = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Linux capabilities (capabilities(7)), without the CAP_ prefix as Docker takes them.
export const LINUX_CAPABILITIES = [
  'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE', 'CHOWN',
  'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE',
  'LINUX_IMMUTABLE', 'MAC_ADMIN', 'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST',
  'NET_RAW', 'PERFMON', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT',
  'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE', 'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME',
  'SYS_TTY_CONFIG', 'SYSLOG', 'WAKE_ALARM',
] as const;

const containerPath = string({ max: 4096 })
  .refine((path) => path.startsWith('/') && path.length > 1 && !path.endsWith('/'), 'must be an absolute path such as /data')
  .refine((path) => path.slice(1).split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'), 'must not contain empty, . or .. segments');

const port = integer({ min: 1, max: 65535 });
const portSchema = object({ container: port, host: port, protocol: oneOf(['tcp', 'udp']).default('tcp') });

const networkSchema = object({
  mode: oneOf(['none', 'isolated', 'published']),
  ports: array(portSchema, { max: 32 }).optional(),
  // What the app's network may reach beyond itself (the ExecEnv must allow it); the gateway itself never.
  egress: array(oneOf(EGRESS_KINDS), { max: EGRESS_KINDS.length })
    .default([])
    .refine((kinds) => new Set(kinds).size === kinds.length, 'egress kinds must be unique'),
})
  .refine((n) => (n.mode === 'published' ? (n.ports?.length ?? 0) > 0 : n.ports === undefined), "ports are required with mode 'published' and allowed only with it")
  .refine((n) => n.mode !== 'none' || n.egress.length === 0, "egress needs a network: mode 'isolated' or 'published'");

// Numeric only: a name would be looked up in the image's own /etc/passwd, which the image's author controls.
const MAX_ID = 2 ** 32 - 2;
const userSchema = string({ max: 21, pattern: /^(0|[1-9][0-9]*):(0|[1-9][0-9]*)$/, patternMessage: 'must be a numeric uid:gid such as 1000:1000' }).refine(
  (user) => user.split(':').every((id) => Number(id) <= MAX_ID),
  `uid and gid must be at most ${MAX_ID}`,
);

/** A unit's smallest disk allocation: its writable layer and data cannot be unbounded. */
export const MIN_DISK_KIB = 1024;

const unitName = string({ pattern: NAME, patternMessage: 'must be lower-case letters, digits and -' });

const volumeSchema = object({ name: unitName, path: containerPath, retain: boolean().default(true) });

const executionUnitSchema = object({
  name: unitName,
  command: array(string({ min: 1, max: 4096 }), { min: 1, max: 64 }),
  env: record({ pattern: ENV_NAME, message: 'must be a valid environment variable name' }, string({ max: 4096 })).default({}),
  autoStart: boolean().default(true),
  runLevel: integer({ min: -1, max: 65535 }).default(-1),
  // The unit runs as this user; root (uid or gid 0) only where the ExecEnv allows it.
  user: userSchema.default(DEFAULT_UNIT_USER),
  // Disk is always bounded: no "0 = unlimited".
  resources: object({ memoryKiB: integer({ min: 1024 }), cpuPercent: integer({ min: 1, max: 100 }), diskKiB: integer({ min: MIN_DISK_KIB }) }),
  network: networkSchema.default({ mode: 'none' }),
  volumes: array(volumeSchema, { max: 16 })
    .default([])
    .refine((vs) => new Set(vs.map((v) => v.name)).size === vs.length, 'volume names must be unique')
    .refine((vs) => new Set(vs.map((v) => v.path)).size === vs.length, 'volume paths must be unique'),
  capabilities: array(oneOf(LINUX_CAPABILITIES, 'must be a Linux capability without CAP_, e.g. NET_BIND_SERVICE'), { max: LINUX_CAPABILITIES.length }).default([]),
});

const appManifestShape = {
  name: string({ pattern: NAME, patternMessage: 'must be lower-case letters, digits and - (at most 63)' }),
  vendor: string({ pattern: VENDOR, patternMessage: 'must be a lower-case domain-like name (letters, digits, . and -)' }).refine((v) => !v.includes('..'), 'must not contain ..'),
  version: string({ max: 64 }).refine((v) => semver.valid(v) === v, 'must be a semantic version such as 1.2.3'),
  description: string({ max: 1024 }).default(''),
  requires: object({ berth: string({ max: 256 }).refine((range) => semver.validRange(range) !== null, 'must be a semver range such as >=0.1.0') }),
  executionUnits: array(executionUnitSchema, { min: 1, max: 16 })
    .refine((eus) => new Set(eus.map((eu) => eu.name)).size === eus.length, 'execution unit names must be unique')
    .refine((eus) => {
      const ports = eus.flatMap((eu) => (eu.network.ports ?? []).map((p) => `${p.host}/${p.protocol}`));
      return new Set(ports).size === ports.length;
    }, 'a host port (and protocol) may be published only once'),
};

export const appManifestSchema = object(appManifestShape);

export const packageManifestSchema = object({
  ...appManifestShape,
  image: object({
    file: oneOf(['image.tar']),
    size: integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    sha256: string({ pattern: /^[0-9a-f]{64}$/, patternMessage: 'must be 64 lower-case hex digits' }),
  }),
});

export type AppManifest = Infer<typeof appManifestSchema>;
export type PackageManifest = Infer<typeof packageManifestSchema>;
export type ExecutionUnitManifest = AppManifest['executionUnits'][number];

function describeIssues(issues: readonly Issue[]): string {
  return issues.map((issue) => `${formatPath(['manifest', ...issue.path])}: ${issue.message}`).join('; ');
}

function parseWith<T>(schema: Schema<T>, json: unknown, member?: string): T {
  const result = schema.parse(json);
  if (!result.success) throw new PackageError('MANIFEST_INVALID', describeIssues(result.issues), member);
  return result.data;
}

export function parseAppManifest(json: unknown): AppManifest {
  return parseWith(appManifestSchema, json);
}

export function parsePackageManifest(json: unknown): PackageManifest {
  return parseWith(packageManifestSchema, json, 'manifest.json');
}

export function checkBerthCompatibility(manifest: Pick<AppManifest, 'name' | 'version' | 'requires'>, berthVersion: string): void {
  if (!semver.satisfies(berthVersion, manifest.requires.berth, { includePrerelease: true })) {
    throw new PackageError('INCOMPATIBLE', `${manifest.name} ${manifest.version} needs berth ${manifest.requires.berth}; this is berth ${berthVersion}`);
  }
}
