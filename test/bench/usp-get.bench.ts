// bench:usp — round trips of Get Device.LocalAgent. through Mosquitto on loopback, and the agent's memory.
// The agent runs compiled (dist/, as in production) in its own process so its resident memory is its own, with its
// default config, against a Mosquitto with its default settings (no set_tcp_nodelay: operators' brokers are not tuned
// for berth). Two Controllers, each on its own topic: one publishes at QoS 0, as usp-js does (mqtt.js's default), the
// other at QoS 1.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { startLocalBroker } from '../../src/cli/local-broker.ts';
import { connectController } from '../../src/controller/controller-client.ts';
import { percentile, roundTrips } from './round-trips.ts';
import { residentMemory, rssMiB } from './process-memory.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AGENT = 'os::012345-BENCH001';
const CONTROLLER = 'proto::bench';

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
    // debug: the agent then logs its V8 heap after each idle collection, which the memory check reads (nothing on
    // the request path logs at debug).
    log: { level: 'debug' },
  }),
);
// Started the way users start it: the `berth` executable (its shebang sets the V8 flags the agent runs with).
const agent = spawn(join(root, 'bin', 'berth.js'), ['agent', '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
// The V8 heap left after the agent's latest idle collection (src/idle-collector.ts logs it), in MiB.
let heapAfterCollection = NaN;
createInterface({ input: agent.stdout }).on('line', (line) => {
  if (line.includes('"heap collected while idle"')) heapAfterCollection = (JSON.parse(line) as { heapAfterMiB: number }).heapAfterMiB;
  else if (/"level":[456]0/.test(line)) process.stderr.write(`${line}\n`);
});
// Idle: 3 s after the last request, once the agent has had its quiet-time collection (after 1 s without messages,
// checked every second).
const settle = async (): Promise<void> => {
  heapAfterCollection = NaN;
  await new Promise((r) => setTimeout(r, 3000));
};
const heapText = (mib: number): string => (Number.isNaN(mib) ? 'not collected' : `${mib.toFixed(2)} MiB`);
const controller = await connectController({ brokerUrl: broker.url, endpointId: CONTROLLER, agentEndpointId: AGENT, agentTopic: `usp/agent/${AGENT}`, replyTopic: 'usp/controller/bench', publishQos: 0 });
const qos1Controller = await connectController({ brokerUrl: broker.url, endpointId: 'proto::household', agentEndpointId: AGENT, agentTopic: `usp/agent/${AGENT}`, replyTopic: 'usp/controller/household', publishQos: 1 });
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

  const { times, perSecond } = await roundTrips(controller, 500);
  await settle();
  const { mib: idleRss, parts: idleParts } = await residentMemory(agent.pid!);
  const idleHeap = heapAfterCollection;

  // Growth: three blocks of 10,000 more Gets, the resident memory sampled every 1,000 while they run and read once
  // the agent is idle again after each.
  const blocks: { peak: number; idle: number; heap: number }[] = [];
  for (let block = 0; block < 3; block++) {
    let peak = 0;
    for (let i = 1; i <= 10_000; i++) {
      await controller.get(['Device.LocalAgent.']);
      if (i % 1000 === 0) peak = Math.max(peak, await rssMiB(agent.pid!));
    }
    await settle();
    blocks.push({ peak, idle: await rssMiB(agent.pid!), heap: heapAfterCollection });
  }
  // Where it ends, 30,000 requests later: a leak adds up block after block, the noise of one reading does not.
  const grown = blocks[blocks.length - 1]!.idle - idleRss;

  // The QoS 1 Controller last, so that its slow trickle of requests does not change the memory readings above:
  // fewer round trips, as each waits for a delayed ACK (see the README).
  for (let i = 0; i < 20; i++) await qos1Controller.get(['Device.LocalAgent.']);
  const qos1 = await roundTrips(qos1Controller, 100);

  console.log(`\nbench:usp — machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log(`Get Device.LocalAgent. (${params} parameters in ${first.reqPathResults![0]!.resolvedPathResults!.length} objects), sequential round trips via Mosquitto (default settings) on 127.0.0.1, agent with its default config (PublishQoS 0):`);
  console.log(`  Controller publishing at QoS 0 (as usp-js), 500 round trips:`);
  console.log(`    median ${percentile(times, 50).toFixed(3)} ms   p95 ${percentile(times, 95).toFixed(3)} ms   p99 ${percentile(times, 99).toFixed(3)} ms   max ${times[times.length - 1]!.toFixed(3)} ms`);
  console.log(`    throughput ${perSecond.toFixed(0)} round trips/s`);
  console.log(`  Controller publishing at QoS 1, 100 round trips:`);
  console.log(`    median ${percentile(qos1.times, 50).toFixed(3)} ms   p95 ${percentile(qos1.times, 95).toFixed(3)} ms   throughput ${qos1.perSecond.toFixed(0)} round trips/s`);
  console.log(`    (the broker holds each answer behind its PUBACK to this Controller until the Controller's delayed ACK: its own connection, the same with any agent)`);
  console.log(`agent resident memory, idle: ${idleRss.toFixed(1)} MiB (${idleParts}); V8 heap after the idle collection ${heapText(idleHeap)}`);
  blocks.forEach(({ peak, idle, heap }, b) => {
    console.log(`  requests ${(b * 10_000 + 1).toLocaleString('en')}–${((b + 1) * 10_000).toLocaleString('en')}: up to ${peak.toFixed(1)} MiB while they run; idle again ${idle.toFixed(1)} MiB, V8 heap ${heapText(heap)}`);
  });
  const targets = [
    ['median ≤ 1.0 ms (QoS 0 Controller)', percentile(times, 50) <= 1.0],
    ['≥ 1,000 round trips/s (QoS 0 Controller)', perSecond >= 1000],
    ['idle RSS ≤ 60 MiB', idleRss <= 60],
    // One idle reading varies by ±0.7 MiB from run to run; a leak of 64 bytes a request would add 1.8 MiB.
    [`RSS not growing (idle after the 30,000 requests ≤ idle before + 1.5 MiB: ${grown >= 0 ? '+' : ''}${grown.toFixed(1)} MiB)`, grown <= 1.5],
  ] as const;
  for (const [name, ok] of targets) console.log(`  ${ok ? 'met ' : 'MISSED'}  ${name}`);
} finally {
  await controller.close();
  await qos1Controller.close();
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await broker.stop();
  await rm(dataDir, { recursive: true, force: true });
}
