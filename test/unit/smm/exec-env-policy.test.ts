// What an ExecEnv lets its apps do, as a table: users, published ports, egress; taken ports; what egress means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_EXEC_ENV_ISOLATION, egressAsked, egressRules, isIpv4Cidr, NOT_INTERNET, policyViolations, portConflicts } from '../../../src/smm/exec-env-policy.ts';
import type { ExecEnvIsolation } from '../../../src/smm/exec-env-policy.ts';
import type { ExecutionUnitManifest } from '../../../src/catalog/package/manifest.ts';

type Unit = Pick<ExecutionUnitManifest, 'name' | 'user' | 'network' | 'capabilities'>;
const unit = (change: Partial<Unit> = {}): Unit => ({ name: 'web', user: '65534:65534', network: { mode: 'isolated', egress: [] }, capabilities: [], ...change });
const published = (host: number, protocol: 'tcp' | 'udp' = 'tcp'): Unit['network'] => ({ mode: 'published', ports: [{ container: 80, host, protocol }], egress: [] });
const env = (change: { allowRoot?: boolean; network?: Partial<ExecEnvIsolation['network']>; allowedCapabilities?: string[] } = {}) => ({
  name: 'home',
  allowedCapabilities: change.allowedCapabilities ?? [],
  allowRoot: change.allowRoot ?? false,
  network: { ...DEFAULT_EXEC_ENV_ISOLATION.network, ...change.network },
});

test('policyViolations: each case, allowed or refused with the config key that decides it', () => {
  const cases: [string, Unit, ReturnType<typeof env>, RegExp | undefined][] = [
    ['nobody, no network', unit({ network: { mode: 'none', egress: [] } }), env(), undefined],
    ['a non-root user', unit({ user: '1000:1000' }), env(), undefined],
    ['root', unit({ user: '0:0' }), env(), /asks to run as root \(user 0:0\); ExecEnv home does not allow root \(config execEnvs\[\]\.allowRoot\)/],
    ['gid 0 is root too', unit({ user: '1000:0' }), env(), /run as root/],
    ['root where allowed', unit({ user: '0:0' }), env({ allowRoot: true }), undefined],
    ['a port in range', unit({ network: published(8080) }), env(), undefined],
    ['the MQTT broker\'s port', unit({ network: published(1883) }), env(), /host port 1883\/tcp, which ExecEnv home reserves for the gateway's own services \(config execEnvs\[\]\.network\.reservedPorts\)/],
    ['TR-069\'s port', unit({ network: published(7547) }), env(), /7547\/tcp, which ExecEnv home reserves/],
    ['DNS over UDP', unit({ network: published(53, 'udp') }), env({ network: { publishPorts: { min: 1, max: 65535 } } }), /53\/udp, which ExecEnv home reserves/],
    ['a privileged port', unit({ network: published(444) }), env(), /host port 444\/tcp, outside the ports ExecEnv home lets apps publish \(1024-65535, config execEnvs\[\]\.network\.publishPorts\)/],
    ['a privileged port the ExecEnv opens', unit({ network: published(444) }), env({ network: { publishPorts: { min: 400, max: 500 } } }), undefined],
    ['above the range', unit({ network: published(9000) }), env({ network: { publishPorts: { min: 8000, max: 8999 } } }), /outside the ports .* \(8000-8999/],
    ['a reserved port the ExecEnv frees', unit({ network: published(8883) }), env({ network: { reservedPorts: [] } }), undefined],
    ['LAN egress', unit({ network: { mode: 'isolated', egress: ['lan'] } }), env(), /asks to reach the LAN \(network\.egress "lan"\), which ExecEnv home does not allow \(config execEnvs\[\]\.network\.egress\)/],
    ['LAN egress allowed', unit({ network: { mode: 'isolated', egress: ['lan'] } }), env({ network: { egress: ['lan'] } }), undefined],
    ['internet with only LAN allowed', unit({ network: { mode: 'isolated', egress: ['internet'] } }), env({ network: { egress: ['lan'] } }), /reach the internet/],
    ['a capability', unit({ capabilities: ['NET_RAW'] }), env(), /capabilities ExecEnv home does not allow: NET_RAW \(config smm\.allowedCapabilities\)/],
    ['an allowed capability', unit({ capabilities: ['NET_RAW'] }), env({ allowedCapabilities: ['NET_RAW'] }), undefined],
  ];
  for (const [what, given, policy, expected] of cases) {
    const problems = policyViolations([given], policy);
    if (expected === undefined) assert.deepEqual(problems, [], what);
    else {
      assert.equal(problems.length, 1, `${what}: ${problems.join('; ')}`);
      assert.match(problems[0]!, expected, what);
    }
  }
  assert.equal(policyViolations([unit({ user: '0:0', network: published(22) }), unit({ name: 'b', capabilities: ['SYS_ADMIN'] })], env()).length, 3, 'every problem is said, not only the first');
});

test('portConflicts: a port another app publishes, on the same protocol', () => {
  const taken = [{ host: 8080, protocol: 'tcp' as const, holder: 'an app in another ExecEnv' }];
  assert.deepEqual(portConflicts([unit({ network: published(8080) })], taken), ['execution unit web asks for host port 8080/tcp, which an app in another ExecEnv already publishes']);
  assert.deepEqual(portConflicts([unit({ network: published(8080, 'udp') })], taken), []);
  assert.deepEqual(portConflicts([unit({ network: published(8081) })], taken), []);
});

test('egressAsked and egressRules: what networked units ask for, as far as the ExecEnv allows', () => {
  const lanSubnets = ['192.168.1.0/24'];
  const allowsBoth = { egress: ['lan', 'internet'] as const, lanSubnets };
  const egressOf = (units: Unit[], network: { egress: readonly ('lan' | 'internet')[]; lanSubnets: string[] }) => egressRules(egressAsked(units), network);
  const asking = (...kinds: ('lan' | 'internet')[]) => [unit({ network: { mode: 'isolated', egress: kinds } })];
  assert.deepEqual(egressOf(asking(), allowsBoth), { allow: [], deny: [], others: false }, 'nothing asked: nothing beyond the app');
  assert.deepEqual(egressOf(asking('lan'), allowsBoth), { allow: lanSubnets, deny: [], others: false });
  assert.deepEqual(egressOf(asking('internet'), allowsBoth), { allow: [], deny: [...lanSubnets, ...NOT_INTERNET], others: true }, 'the internet, not the LAN');
  assert.deepEqual(egressOf(asking('lan', 'internet'), allowsBoth), { allow: lanSubnets, deny: NOT_INTERNET, others: true });
  assert.deepEqual(egressOf(asking('lan', 'internet'), { egress: ['lan'], lanSubnets }), { allow: lanSubnets, deny: [], others: false }, 'a policy narrowed since: only what it still allows');
  assert.deepEqual(egressAsked([unit({ network: { mode: 'none', egress: ['lan'] } }), unit({ network: { mode: 'isolated', egress: ['internet'] } })]), ['internet'], 'a unit without a network adds nothing');
  assert.ok(NOT_INTERNET.includes('169.254.0.0/16'), 'link-local (cloud metadata) is not the internet');
});

test('isIpv4Cidr', () => {
  for (const good of ['10.0.0.0/8', '192.168.1.0/24', '0.0.0.0/0', '1.2.3.4/32']) assert.ok(isIpv4Cidr(good), good);
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0/8', '256.0.0.0/8', '010.0.0.0/8', '10.0.0.0/08', '10.0.0.0/8/8', 'fd00::/8', '']) assert.equal(isIpv4Cidr(bad), false, bad);
});
