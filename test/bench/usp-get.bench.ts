// bench:usp — round trips of Get Device.LocalAgent. through Mosquitto on loopback, and the agent's memory.
// The agent runs compiled (dist/, as in production) in its own process so its resident memory is its own.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startLocalBroker } from '../../src/cli/local-broker.ts';
import { connectController } from '../../src/controller/controller-client.ts';
import { residentMemory, rssMiB } from './process-memory.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AGENT = 'os::012345-BENCH001';
const CONTROLLER = 'proto::bench';

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const broker = await startLocalBroker();
const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-'));
const configFile = join(dataDir, 'config.json');
await writeFile(
  configFile,
  JSON.stringify({
    endpointId: AGENT,
    dataDir,
    mqtt: { url: broker.url, version: 5 },
    // An operator and a household Controller, as on a real gateway.
    controllers: [
      { endpointId: CONTROLLER, topic: 'usp/controller/bench' },
      { endpointId: 'proto::household', topic: 'usp/controller/household' },
    ],
    log: { level: 'warn' },
  }),
);
// Started the way users start it: the `berth` executable (its shebang sets the V8 flags the agent runs with).
const agent = spawn(join(root, 'bin', 'berth.js'), ['agent', '--config', configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
const controller = await connectController({ brokerUrl: broker.url, endpointId: CONTROLLER, agentEndpointId: AGENT, agentTopic: `usp/agent/${AGENT}`, replyTopic: 'usp/controller/bench' });
try {
  // Wait for the agent to be up.
  for (let i = 0; ; i++) {
    try {
      await controller.get(['Device.LocalAgent.EndpointID'], 0);
      break;
    } catch (error) {
      if (i > 50) throw error;
    }
  }
  // A subscription, as a Controller watching the gateway would have.
  await controller.request({
    add: {
      allowPartial: false,
      createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'NotifType', value: 'Event' }, { param: 'ReferenceList', value: 'Device.Boot!' }, { param: 'Enable', value: 'true' }, { param: 'Persistent', value: 'true' }] }],
    },
  });
  const first = await controller.get(['Device.LocalAgent.']);
  const params = first.reqPathResults![0]!.resolvedPathResults!.reduce((n, r) => n + Object.keys(r.resultParams ?? {}).length, 0);
  // Warm-up: the agent is a long-running process; measure it once V8 has compiled the hot paths.
  for (let i = 0; i < 3000; i++) await controller.get(['Device.LocalAgent.']);

  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await controller.get(['Device.LocalAgent.']);
    times.push(performance.now() - t0);
  }
  const elapsed = performance.now() - started;
  times.sort((a, b) => a - b);
  // Idle: 3 s after the last request, once the agent has had its quiet-time collection (src/idle-collector.ts: after
  // 1 s without messages, checked every second).
  await new Promise((r) => setTimeout(r, 3000));
  const { mib: idleRss, parts: idleParts } = await residentMemory(agent.pid!);

  const rssSamples: [number, number][] = [[0, idleRss]];
  for (let i = 1; i <= 10_000; i++) {
    await controller.get(['Device.LocalAgent.']);
    if (i % 2000 === 0) rssSamples.push([i, await rssMiB(agent.pid!)]);
  }
  await new Promise((r) => setTimeout(r, 3000));
  const afterRss = await rssMiB(agent.pid!);

  console.log(`\nbench:usp — machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log(`Get Device.LocalAgent. (${params} parameters in ${first.reqPathResults![0]!.resolvedPathResults!.length} objects), 500 sequential round trips via Mosquitto on 127.0.0.1:`);
  console.log(`  median ${percentile(times, 50).toFixed(3)} ms   p95 ${percentile(times, 95).toFixed(3)} ms   p99 ${percentile(times, 99).toFixed(3)} ms   max ${times[times.length - 1]!.toFixed(3)} ms`);
  console.log(`  throughput ${(500 / (elapsed / 1000)).toFixed(0)} round trips/s`);
  console.log(`agent resident memory: idle ${idleRss.toFixed(1)} MiB (${idleParts}); during 10,000 more requests ${rssSamples.map(([n, mib]) => `${n}:${mib.toFixed(1)}`).join(' ')} MiB; 3 s after ${afterRss.toFixed(1)} MiB`);
  const targets = [
    ['median ≤ 1.0 ms', percentile(times, 50) <= 1.0],
    ['≥ 1,000 round trips/s', 500 / (elapsed / 1000) >= 1000],
    ['idle RSS ≤ 60 MiB', idleRss <= 60],
    ['RSS not growing (≤ +5 MiB over 10,000 requests)', afterRss - rssSamples[0]![1] <= 5],
  ] as const;
  for (const [name, ok] of targets) console.log(`  ${ok ? 'met ' : 'MISSED'}  ${name}`);
} finally {
  await controller.close();
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await broker.stop();
  await rm(dataDir, { recursive: true, force: true });
}
