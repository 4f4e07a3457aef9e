// What an ExecEnv lets its apps do beyond berth's hardened defaults, and the checks an app's signed manifest must
// pass before anything of it is created: the user its units run as (root only where the ExecEnv allows it), the
// host ports they publish (on the ExecEnv's address, within its range, never a reserved port nor one another app
// holds) and what their network may reach beyond itself (only the egress kinds the ExecEnv grants). Pure: the
// config supplies the policy, deployment.ts applies it, the runtime turns egress into firewall rules.
import type { EgressRules } from '../runtime/container-runtime.ts';
import type { ExecutionUnitManifest } from '../catalog/package/manifest.ts';

/** What an app's network may reach beyond itself: devices of the LAN, the internet. Never the gateway itself. */
export const EGRESS_KINDS = ['lan', 'internet'] as const;
export type EgressKind = (typeof EGRESS_KINDS)[number];

/** The gateway's own services (ssh, DNS, DHCP, HTTP, HTTPS, MQTT, TR-069, MQTT over TLS). */
export const DEFAULT_RESERVED_PORTS: readonly number[] = [22, 53, 67, 68, 80, 443, 1883, 7547, 8883];
/** Published ports answer on the gateway itself only, until the operator names the LAN address. */
export const DEFAULT_PUBLISH_ADDRESS = '127.0.0.1';
/** Privileged ports (below 1024) are the gateway's, unless the config lowers the range. */
export const DEFAULT_PUBLISH_PORTS = { min: 1024, max: 65535 } as const;
/** RFC 1918: what `lan` means unless the config names the LAN's own subnets. */
export const DEFAULT_LAN_SUBNETS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
/**
 * IPv4 ranges that are not the internet (RFC 6890: this network, private, shared CGN, loopback, link-local — cloud
 * metadata services live there —, IETF protocol assignments, documentation, benchmarking, multicast, reserved):
 * `internet` egress never reaches them.
 */
export const NOT_INTERNET: readonly string[] = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
];
/** The user a unit runs as when its manifest names none: nobody. */
export const DEFAULT_UNIT_USER = '65534:65534';

export interface ExecEnvNetworkPolicy {
  /** The host address published ports bind to. */
  publishAddress: string;
  /** The host ports apps may publish. */
  publishPorts: { min: number; max: number };
  /** Host ports never given to an app, even within publishPorts. */
  reservedPorts: readonly number[];
  /** What apps' networks may be allowed to reach, if their manifest asks. */
  egress: readonly EgressKind[];
  /** The subnets `lan` egress reaches. */
  lanSubnets: readonly string[];
}

export interface ExecEnvIsolation {
  /** Units may run as root (uid or gid 0) when their manifest asks. */
  allowRoot: boolean;
  network: ExecEnvNetworkPolicy;
}

export const DEFAULT_EXEC_ENV_ISOLATION: ExecEnvIsolation = {
  allowRoot: false,
  network: { publishAddress: DEFAULT_PUBLISH_ADDRESS, publishPorts: { ...DEFAULT_PUBLISH_PORTS }, reservedPorts: DEFAULT_RESERVED_PORTS, egress: [], lanSubnets: DEFAULT_LAN_SUBNETS },
};

/** A dotted-quad IPv4 address, each part 0-255 without leading zeros. */
export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^(0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
}

/** An IPv4 subnet such as 192.168.1.0/24. */
export function isIpv4Cidr(text: string): boolean {
  const [address = '', prefix, ...rest] = text.split('/');
  return rest.length === 0 && prefix !== undefined && /^(0|[1-9][0-9]?)$/.test(prefix) && Number(prefix) <= 32 && isIpv4(address);
}

/** `uid:gid`; root when either is 0. */
export function isRootUser(user: string): boolean {
  return user.split(':').some((id) => Number(id) === 0);
}

type PolicyUnit = Pick<ExecutionUnitManifest, 'name' | 'user' | 'network' | 'capabilities'>;

/** Every way the units break the ExecEnv's policy, each said plainly with the config key that decides it. */
export function policyViolations(units: readonly PolicyUnit[], policy: ExecEnvIsolation & { name: string; allowedCapabilities: readonly string[] }): string[] {
  const problems: string[] = [];
  const { network } = policy;
  for (const unit of units) {
    const refused = unit.capabilities.filter((cap) => !policy.allowedCapabilities.includes(cap));
    if (refused.length > 0) problems.push(`execution unit ${unit.name} asks for capabilities ExecEnv ${policy.name} does not allow: ${refused.join(', ')} (config smm.allowedCapabilities)`);
    if (isRootUser(unit.user) && !policy.allowRoot) {
      problems.push(`execution unit ${unit.name} asks to run as root (user ${unit.user}); ExecEnv ${policy.name} does not allow root (config execEnvs[].allowRoot)`);
    }
    for (const port of unit.network.ports ?? []) {
      const named = `host port ${port.host}/${port.protocol}`;
      if (network.reservedPorts.includes(port.host)) {
        problems.push(`execution unit ${unit.name} asks for ${named}, which ExecEnv ${policy.name} reserves for the gateway's own services (config execEnvs[].network.reservedPorts)`);
      } else if (port.host < network.publishPorts.min || port.host > network.publishPorts.max) {
        problems.push(`execution unit ${unit.name} asks for ${named}, outside the ports ExecEnv ${policy.name} lets apps publish (${network.publishPorts.min}-${network.publishPorts.max}, config execEnvs[].network.publishPorts)`);
      }
    }
    for (const kind of unit.network.egress) {
      if (!network.egress.includes(kind)) {
        problems.push(`execution unit ${unit.name} asks to reach the ${kind === 'lan' ? 'LAN' : 'internet'} (network.egress "${kind}"), which ExecEnv ${policy.name} does not allow (config execEnvs[].network.egress)`);
      }
    }
  }
  return problems;
}

export interface PublishedPort {
  host: number;
  protocol: 'tcp' | 'udp';
  /** Who has it, as a Controller may be told. */
  holder: string;
}

/** Host ports the units ask for that another installed app already publishes. */
export function portConflicts(units: readonly Pick<ExecutionUnitManifest, 'name' | 'network'>[], taken: readonly PublishedPort[]): string[] {
  const problems: string[] = [];
  for (const unit of units) {
    for (const port of unit.network.ports ?? []) {
      const holder = taken.find((t) => t.host === port.host && t.protocol === port.protocol);
      if (holder) problems.push(`execution unit ${unit.name} asks for host port ${port.host}/${port.protocol}, which ${holder.holder} already publishes`);
    }
  }
  return problems;
}

/** What the app's network is to reach: what its networked units ask for (they share one network, so all get it). */
export function egressAsked(units: readonly Pick<ExecutionUnitManifest, 'network'>[]): EgressKind[] {
  return EGRESS_KINDS.filter((kind) => units.some((unit) => unit.network.mode !== 'none' && unit.network.egress.includes(kind)));
}

/** The firewall's view of egress kinds, as far as the ExecEnv allows them (today: a policy may have narrowed since). */
export function egressRules(kinds: readonly EgressKind[], network: Pick<ExecEnvNetworkPolicy, 'egress' | 'lanSubnets'>): EgressRules {
  const lan = kinds.includes('lan') && network.egress.includes('lan');
  const internet = kinds.includes('internet') && network.egress.includes('internet');
  return {
    allow: lan ? [...network.lanSubnets] : [],
    // Without `lan`, the LAN stays out of reach even where its subnets are public addresses.
    deny: internet ? [...(lan ? [] : network.lanSubnets), ...NOT_INTERNET] : [],
    others: internet,
  };
}
