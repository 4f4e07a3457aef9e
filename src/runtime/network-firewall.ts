// berth's own firewall rules around its app networks. Docker 20.10 keeps bridge networks apart from each other
// (its DOCKER-ISOLATION chains), but a container still reaches every address of the host — its network's
// gateway, the LAN address, docker0 — so every service of the gateway listening on 0.0.0.0 (sshd, the MQTT
// broker, the TR-069 client), and, through the default route, whatever the gateway routes to. An `internal`
// network does not help: its gateway address still answers, and it cannot publish ports. So for each app
// network berth adds, with iptables (as Docker does; berth runs as root):
//   - in chain BERTH-INPUT, jumped to first from INPUT: the network's packets to the host itself are dropped,
//     except replies to connections the host opened (published ports reached from the gateway itself);
//   - in chain BERTH-FORWARD, jumped to first from DOCKER-USER (the chain Docker runs before its own accept
//     rules): packets between the network's own containers and replies pass on to Docker's rules, so do
//     packets to what the app's egress allows; everything else the network sends is dropped.
// Every rule carries the comment `berth:<network name>`; a network's rules are replaced in one iptables-restore
// transaction and removed with the network. IPv6 needs no rules: berth's networks have none, and Docker
// disables IPv6 inside containers on such networks (checked on 20.10: disable_ipv6 = 1), so there is no
// link-local path to the host either.
import { spawn } from 'node:child_process';
import type { EgressRules } from './container-runtime.ts';
import { BerthError } from '../errors/berth-error.ts';

export const INPUT_CHAIN = 'BERTH-INPUT';
export const FORWARD_CHAIN = 'BERTH-FORWARD';
const JUMPS = [
  { from: 'INPUT', to: INPUT_CHAIN },
  { from: 'DOCKER-USER', to: FORWARD_CHAIN },
] as const;
const JUMP_COMMENT = 'berth: app network isolation';

export const commentOf = (network: string): string => `berth:${network}`;

/** The rules confining one network, in iptables-restore syntax: pure, so they can be read in a unit test. */
export function networkRules(network: string, bridge: string, egress: EgressRules): string[] {
  const tag = `-m comment --comment "${commentOf(network)}"`;
  const input = (rule: string): string => `-A ${INPUT_CHAIN} -i ${bridge} ${rule}`;
  const forward = (rule: string): string => `-A ${FORWARD_CHAIN} -i ${bridge} ${rule}`;
  return [
    input(`-m conntrack --ctstate RELATED,ESTABLISHED ${tag} -j RETURN`),
    input(`${tag} -j DROP`),
    forward(`-o ${bridge} ${tag} -j RETURN`),
    forward(`-m conntrack --ctstate RELATED,ESTABLISHED ${tag} -j RETURN`),
    ...egress.allow.map((subnet) => forward(`-d ${subnet} ${tag} -j RETURN`)),
    ...egress.deny.map((subnet) => forward(`-d ${subnet} ${tag} -j DROP`)),
    forward(`${tag} -j ${egress.others ? 'RETURN' : 'DROP'}`),
  ];
}

// Network names are Docker names ([a-zA-Z0-9][a-zA-Z0-9_.-]*), so the comment needs no escaping.
const COMMENT = /--comment "?berth:([A-Za-z0-9][A-Za-z0-9_.-]*)"?(?:\s|$)/;

/** The network each of berth's rules (as `iptables -S` prints them) belongs to. */
export function ruleOwners(listing: string): { rule: string; network: string }[] {
  return listing
    .split('\n')
    .filter((line) => line.startsWith('-A '))
    .map((rule) => ({ rule, network: COMMENT.exec(rule)?.[1] }))
    .filter((r): r is { rule: string; network: string } => r.network !== undefined);
}

export class FirewallError extends BerthError {
  constructor(message: string) {
    super('FIREWALL_FAILED', message);
    this.name = 'FirewallError';
  }
}

export interface NetworkFirewall {
  /** Replaces the network's rules with these (the chains and their jumps are made when missing). */
  confine(network: string, bridge: string, egress: EgressRules): Promise<void>;
  release(network: string): Promise<void>;
  /** Removes the rules of every network not in `existing`; returns their names. */
  prune(existing: ReadonlySet<string>): Promise<string[]>;
}

function run(command: string, args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(new FirewallError(error.code === 'ENOENT' ? `${command} is not installed: berth needs it to keep apps away from the gateway's own services` : `${command}: ${error.message}`));
    });
    child.on('close', (code) => {
      resolve({ code: code ?? 1, stdout, stderr: stderr.trim() });
    });
    if (input !== undefined) {
      // A command that fails early stops reading: its exit code and stderr say why, not the broken pipe.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input);
    }
  });
}

/** iptables on the host (the same command Docker uses: iptables-nft or -legacy, whichever is the system's). */
export function createIptablesFirewall(commands = { iptables: 'iptables', restore: 'iptables-restore' }): NetworkFirewall {
  const iptables = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => run(commands.iptables, ['-w', ...args]);

  async function ensureChains(): Promise<void> {
    for (const { from, to } of JUMPS) {
      if ((await iptables('-S', to)).code !== 0) {
        const created = await iptables('-N', to);
        // Another agent on this host may have made it in the meantime.
        if (created.code !== 0 && (await iptables('-S', to)).code !== 0) throw new FirewallError(`cannot create iptables chain ${to}: ${created.stderr}`);
      }
      const jump = ['-j', to, '-m', 'comment', '--comment', JUMP_COMMENT];
      if ((await iptables('-C', from, ...jump)).code === 0) continue;
      const inserted = await iptables('-I', from, '1', ...jump);
      if (inserted.code !== 0) {
        const why = from === 'DOCKER-USER' ? " (Docker's DOCKER-USER chain is missing: dockerd must run with its iptables integration on, the default)" : '';
        throw new FirewallError(`cannot add berth's jump from ${from} to ${to}${why}: ${inserted.stderr}`);
      }
    }
  }

  async function currentRules(): Promise<{ rule: string; network: string }[]> {
    const rules: { rule: string; network: string }[] = [];
    for (const { to } of JUMPS) {
      const listing = await iptables('-S', to);
      if (listing.code === 0) rules.push(...ruleOwners(listing.stdout));
    }
    return rules;
  }

  /** Deletes and appends in one transaction: a network is never left half confined. */
  async function apply(remove: readonly string[], add: readonly string[]): Promise<void> {
    if (remove.length + add.length === 0) return;
    const script = ['*filter', ...remove.map((rule) => rule.replace(/^-A /, '-D ')), ...add, 'COMMIT', ''].join('\n');
    const result = await run(commands.restore, ['-w', '--noflush'], script);
    if (result.code !== 0) throw new FirewallError(`iptables-restore refused berth's rules: ${result.stderr}`);
  }

  return {
    async confine(network, bridge, egress) {
      await ensureChains();
      const old = (await currentRules()).filter((r) => r.network === network).map((r) => r.rule);
      await apply(old, networkRules(network, bridge, egress));
    },
    async release(network) {
      await apply((await currentRules()).filter((r) => r.network === network).map((r) => r.rule), []);
    },
    async prune(existing) {
      const stale = (await currentRules()).filter((r) => !existing.has(r.network));
      await apply(stale.map((r) => r.rule), []);
      return [...new Set(stale.map((r) => r.network))];
    },
  };
}
