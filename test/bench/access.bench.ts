// bench:access — what checking ControllerTrust permissions costs (issue 11): `Get Device.` round trips by a
// Controller with full access and by one whose role has 20 permission rows (partial paths, parameter targets,
// wildcards and search paths, as an operator's role for a household Controller has), interleaved in one run
// against one agent. Both publish at QoS 0 (as usp-js) through a Mosquitto with its default settings, each on its
// own topic. The agent runs compiled (dist/, as in production) in its own process.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startLocalBroker } from '../../src/cli/local-broker.ts';
import { connectController } from '../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../src/controller/controller-client.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AGENT = 'os::012345-BENCHACL';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 10);
const PER_ROUND = 300;

// 20 rows of the kinds of target TR-369 allows (partial paths, instance paths, wildcards, search paths, parameter,
// command and event paths), each matched against every element of the answer. Every row grants read, so both
// Controllers get the same answer and the difference in throughput is the checking alone; the rows differ in what
// else they grant (write, execute, notify), as the rows of a real role do.
const p = (order: number, targets: string[], param: string, obj = 'r---', inst = 'r---', ce = 'r---'): Record<string, unknown> => ({ order, targets, param, obj, instantiatedObj: inst, commandEvent: ce });
const twentyRows = [
  p(1, ['Device.'], 'r---'),
  p(2, ['Device.LocalAgent.ControllerTrust.'], 'r---', 'r---', 'r---', '----'),
  p(3, ['Device.LocalAgent.ControllerTrust.Role.*.Name'], 'r--n'),
  p(4, ['Device.MQTT.Client.*.Username', 'Device.MQTT.Client.*.ClientID'], 'r---'),
  p(5, ['Device.LocalAgent.Subscription.'], 'r---', 'rw--', 'r---', '----'),
  p(6, ['Device.LocalAgent.Subscription.[Recipient=="Device.LocalAgent.Controller.2"].'], 'rw-n', 'rw-n', 'rw-n', '----'),
  p(7, ['Device.LocalAgent.Request.'], 'r---', 'r---', 'r---', '----'),
  p(8, ['Device.LocalAgent.Request.[Originator=="proto::household"].'], 'r--n', 'r--n', 'r--n', 'r-xn'),
  p(9, ['Device.LocalAgent.Controller.'], 'r---', 'r---', 'r---', '----'),
  p(10, ['Device.LocalAgent.Controller.[EndpointID=="proto::household"].'], 'rw--'),
  p(11, ['Device.LocalAgent.Controller.*.PeriodicNotifInterval'], 'rw-n'),
  p(12, ['Device.SoftwareModules.ExecEnv.1.'], 'r--n', 'rw-n', 'r--n', 'r-xn'),
  p(13, ['Device.SoftwareModules.DeploymentUnit.[ExecutionEnvRef=="Device.SoftwareModules.ExecEnv.1"].'], 'r--n', 'r--n', 'r--n', 'r-xn'),
  p(14, ['Device.SoftwareModules.ExecutionUnit.[ExecutionEnvRef=="Device.SoftwareModules.ExecEnv.1"].'], 'rw-n', 'r--n', 'r--n', 'r-xn'),
  p(15, ['Device.SoftwareModules.InstallDU()'], 'r---', 'r---', 'r---', 'r-x-'),
  p(16, ['Device.SoftwareModules.DUStateChange!'], 'r---', 'r---', 'r---', 'r--n'),
  p(17, ['Device.DeviceInfo.VendorLogFile.'], 'r---', 'r---', 'r---', 'r---'),
  p(18, ['Device.LocalAgent.MTP.*.MQTT.ResponseTopicConfigured'], 'r--n'),
  p(19, ['Device.LocalAgent.UpTime', 'Device.DeviceInfo.UpTime'], 'r--n'),
  p(20, ['Device.LocalAgent.Controller.*.MTP.*.MQTT.Topic'], 'r--n'),
];

const broker = await startLocalBroker();
const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-access-'));
const configFile = join(dataDir, 'config.json');
await writeFile(
  configFile,
  JSON.stringify({
    endpointId: AGENT,
    dataDir,
    mqtt: { url: broker.url, version: 5 },
    roles: [{ name: 'twenty rows', permissions: twentyRows }],
    controllers: [
      { endpointId: 'proto::operator', topic: 'usp/controller/operator', role: 'full' },
      { endpointId: 'proto::household', topic: 'usp/controller/household', role: 'twenty rows' },
    ],
    log: { level: 'warn' },
  }),
);
const agent = spawn(join(root, 'bin', 'berth.js'), ['agent', '--config', configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
const connect = (id: string): Promise<ControllerClient> =>
  connectController({ brokerUrl: broker.url, endpointId: `proto::${id}`, agentEndpointId: AGENT, agentTopic: `usp/agent/${AGENT}`, replyTopic: `usp/controller/${id}`, publishQos: 0 });
const full = await connect('operator');
const confined = await connect('household');
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const countParams = async (client: ControllerClient): Promise<[number, number]> => {
  const resp = await client.get(['Device.']);
  const objects = resp.reqPathResults![0]!.resolvedPathResults!;
  return [objects.length, objects.reduce((n, r) => n + Object.keys(r.resultParams ?? {}).length, 0)];
};
try {
  for (let i = 0; ; i++) {
    try {
      await full.get(['Device.LocalAgent.EndpointID'], 0);
      break;
    } catch (error) {
      if (i > 50) throw error;
    }
  }
  for (let i = 0; i < 1000; i++) {
    await full.get(['Device.']);
    await confined.get(['Device.']);
  }
  const rate: Record<'full' | 'confined', number[]> = { full: [], confined: [] };
  const times: Record<'full' | 'confined', number[]> = { full: [], confined: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved rounds, the order alternating, so drift of the machine falls on both alike.
    const order: ('full' | 'confined')[] = round % 2 === 0 ? ['full', 'confined'] : ['confined', 'full'];
    for (const who of order) {
      const client = who === 'full' ? full : confined;
      const started = performance.now();
      for (let i = 0; i < PER_ROUND; i++) {
        const t0 = performance.now();
        await client.get(['Device.']);
        times[who].push(performance.now() - t0);
      }
      rate[who].push(PER_ROUND / ((performance.now() - started) / 1000));
    }
  }
  const [fullObjects, fullParams] = await countParams(full);
  const [confinedObjects, confinedParams] = await countParams(confined);
  const fullRate = median(rate.full);
  const confinedRate = median(rate.confined);
  const cost = (1 - confinedRate / fullRate) * 100;
  console.log(`\nbench:access — machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log(`Get Device., sequential round trips via Mosquitto (default settings) on 127.0.0.1, QoS 0, ${ROUNDS} interleaved rounds of ${PER_ROUND}:`);
  console.log(`  full access (1 permission row):  ${fullObjects} objects, ${fullParams} parameters; median ${median(times.full).toFixed(3)} ms, ${fullRate.toFixed(0)} round trips/s`);
  if (confinedObjects !== fullObjects || confinedParams !== fullParams) console.log('  (the answers differ in size: the comparison is not like for like)');
  console.log(`  20-row role (searches, wildcards, element targets): ${confinedObjects} objects, ${confinedParams} parameters; median ${median(times.confined).toFixed(3)} ms, ${confinedRate.toFixed(0)} round trips/s`);
  console.log(`  throughput cost of the permission checks: ${cost.toFixed(1)} % (target ≤ 10 %) ${cost <= 10 ? 'met' : 'MISSED'}`);
} finally {
  await full.close().catch(() => undefined);
  await confined.close().catch(() => undefined);
  agent.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await broker.stop();
  await rm(dataDir, { recursive: true, force: true });
}
