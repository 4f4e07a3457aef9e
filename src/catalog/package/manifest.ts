// The app manifest: what a developer writes in app.json (appManifestSchema) and what a package carries in its
// manifest.json (packageManifestSchema: the same plus the image's size and hash, added by `berth app pack`).
// Strict: unknown keys are refused, so a typo never passes silently. Errors name the key path.
import semver from 'semver';
import { z } from 'zod';
import { PackageError } from './package-error.ts';

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

const containerPath = z
  .string()
  .max(4096)
  .refine((path) => path.startsWith('/') && path.length > 1 && !path.endsWith('/'), 'must be an absolute path such as /data')
  .refine((path) => path.slice(1).split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'), 'must not contain empty, . or .. segments');

const portSchema = z.strictObject({
  container: z.number().int().min(1).max(65535),
  host: z.number().int().min(1).max(65535),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});

const networkSchema = z
  .strictObject({ mode: z.enum(['none', 'isolated', 'published']), ports: z.array(portSchema).max(32).optional() })
  .refine((n) => (n.mode === 'published' ? (n.ports?.length ?? 0) > 0 : n.ports === undefined), {
    message: "ports are required with mode 'published' and allowed only with it",
  });

const volumeSchema = z.strictObject({
  name: z.string().regex(NAME, 'must be lower-case letters, digits and -'),
  path: containerPath,
  retain: z.boolean().default(true),
});

const executionUnitSchema = z.strictObject({
  name: z.string().regex(NAME, 'must be lower-case letters, digits and -'),
  command: z.array(z.string().min(1).max(4096)).min(1).max(64),
  env: z.record(z.string().regex(ENV_NAME, 'must be a valid environment variable name'), z.string().max(4096)).default({}),
  autoStart: z.boolean().default(true),
  runLevel: z.number().int().min(-1).max(65535).default(-1),
  resources: z.strictObject({
    memoryKiB: z.number().int().min(1024, 'must be an integer ≥ 1024'),
    cpuPercent: z.number().int().min(1).max(100),
    diskKiB: z.number().int().min(0),
  }),
  network: networkSchema.default({ mode: 'none' }),
  volumes: z
    .array(volumeSchema)
    .max(16)
    .default([])
    .refine((vs) => new Set(vs.map((v) => v.name)).size === vs.length, 'volume names must be unique')
    .refine((vs) => new Set(vs.map((v) => v.path)).size === vs.length, 'volume paths must be unique'),
  capabilities: z.array(z.enum(LINUX_CAPABILITIES)).max(LINUX_CAPABILITIES.length).default([]),
});

export const appManifestSchema = z.strictObject({
  name: z.string().regex(NAME, 'must be lower-case letters, digits and - (at most 63)'),
  vendor: z
    .string()
    .regex(VENDOR, 'must be a lower-case domain-like name (letters, digits, . and -)')
    .refine((v) => !v.includes('..'), 'must not contain ..'),
  version: z.string().max(64).refine((v) => semver.valid(v) === v, 'must be a semantic version such as 1.2.3'),
  description: z.string().max(1024).default(''),
  requires: z.strictObject({
    berth: z.string().max(256).refine((range) => semver.validRange(range) !== null, 'must be a semver range such as >=0.1.0'),
  }),
  executionUnits: z
    .array(executionUnitSchema)
    .min(1)
    .max(16)
    .refine((eus) => new Set(eus.map((eu) => eu.name)).size === eus.length, 'execution unit names must be unique'),
});

export const packageManifestSchema = appManifestSchema.extend({
  image: z.strictObject({
    file: z.literal('image.tar'),
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  }),
});

export type AppManifest = z.infer<typeof appManifestSchema>;
export type PackageManifest = z.infer<typeof packageManifestSchema>;
export type ExecutionUnitManifest = AppManifest['executionUnits'][number];

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      return `manifest${path}: ${issue.message}`;
    })
    .join('; ');
}

export function parseAppManifest(json: unknown): AppManifest {
  const result = appManifestSchema.safeParse(json);
  if (!result.success) throw new PackageError('MANIFEST_INVALID', describeIssues(result.error));
  return result.data;
}

export function parsePackageManifest(json: unknown): PackageManifest {
  const result = packageManifestSchema.safeParse(json);
  if (!result.success) throw new PackageError('MANIFEST_INVALID', describeIssues(result.error), 'manifest.json');
  return result.data;
}

export function checkBerthCompatibility(manifest: Pick<AppManifest, 'name' | 'version' | 'requires'>, berthVersion: string): void {
  if (!semver.satisfies(berthVersion, manifest.requires.berth, { includePrerelease: true })) {
    throw new PackageError('INCOMPATIBLE', `${manifest.name} ${manifest.version} needs berth ${manifest.requires.berth}; this is berth ${berthVersion}`);
  }
}
