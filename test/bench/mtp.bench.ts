// bench:mtp — Get Device.LocalAgent. round trips over each MTP in one run, against one agent process with MQTT, STOMP
// and WebSocket all enabled, and that agent's idle memory. The agent runs compiled (dist/, as in production) as
// `bin/berth.js agent`; the brokers run with their default settings (a private Mosquitto and a private RabbitMQ node
// with its STOMP plugin, both on 127.0.0.1); the WebSocket server uses TLS with client certificates, as deployed.
// Each Controller has its own topic, queue or session: MQTT publishes at QoS 0 (as usp-js; see bench:usp for QoS 1),
// STOMP sends to the agent's queue with its own reply queue, WebSocket dials the agent's server.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { startLocalBroker, freePort } from '../../src/cli/local-broker.ts';
import { connectController } from '../../src/controller/controller-client.ts';
import { createControllerSession } from '../../src/controller/controller-session.ts';
import type { ControllerClient } from '../../src/controller/controller-session.ts';
import { connectStompWire } from '../../src/controller/stomp-wire.ts';
import { dialAgentWebSocket } from '../../src/controller/websocket-wires.ts';
import { startRabbitmq } from '../helpers/rabbitmq.ts';
import { createTestPki } from '../helpers/tls-certs.ts';
import { percentile, roundTrips } from './round-trips.ts';
import { largestMappings, residentMemory } from './process-memory.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AGENT = 'os::012345-BENCH002';
const MQTT_CONTROLLER = 'proto::bench-mqtt';
const STOMP_CONTROLLER = 'proto::bench-stomp';
const WS_CONTROLLER = 'proto::bench-ws';
const ROUND_TRIPS = Number(process.env['BENCH_ROUND_TRIPS'] ?? 500);
// BENCH_MTPS=mqtt,stomp,websocket (the default: all three) — fewer, to see what each costs in memory.
const enabled = new Set((process.env['BENCH_MTPS'] ?? 'mqtt,stomp,websocket').split(','));
// BENCH_WS_PLAIN=1: the WebSocket server without TLS (ws://), to see what TLS costs.
const plainWebSocket = process.env['BENCH_WS_PLAIN'] === '1';
const WARM_UP = Number(process.env['BENCH_WARMUP'] ?? 3000);

const broker = await startLocalBroker();
const rabbit = await startRabbitmq();
const pki = createTestPki();
const agentCert = pki.issue('agent', { dns: ['localhost'], ips: ['127.0.0.1'], endpointIds: [AGENT] });
const wsPort = await freePort();
const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-mtp-'));
const configFile = join(dataDir, 'config.json');
await writeFile(
  configFile,
  JSON.stringify({
    endpointId: AGENT,
    dataDir,
    ...(enabled.has('mqtt') && { mqtt: { url: broker.url } }),
    ...(enabled.has('stomp') && { stomp: { url: `stomp://127.0.0.1:${rabbit.stompPort}` } }),
    ...(enabled.has('websocket') && {
      websocket: plainWebSocket
        ? { listen: { bindAddress: '127.0.0.1', port: wsPort, encryption: false, requireClientCertificate: false } }
        : { certFile: agentCert.certFile, keyFile: agentCert.keyFile, caFile: pki.caFile, listen: { bindAddress: '127.0.0.1', port: wsPort } },
    }),
    controllers: [
      ...(enabled.has('mqtt') ? [{ endpointId: MQTT_CONTROLLER, topic: 'usp/controller/bench' }] : []),
      ...(enabled.has('stomp') ? [{ endpointId: STOMP_CONTROLLER, stomp: { destination: '/queue/usp.controller.bench' } }] : []),
      ...(enabled.has('websocket') ? [{ endpointId: WS_CONTROLLER, websocket: {} }] : []),
    ],
    // debug: the agent logs its V8 heap after each idle collection (nothing on the request path logs at debug).
    log: { level: 'debug' },
  }),
);
// BENCH_AGENT_COMMAND='env MALLOC_ARENA_MAX=2 heaptrack -o /tmp/agent node --expose-gc dist/main.js': start the agent
// another way (under a tool, to see where its native memory goes); default the `berth` executable as users run it.
const launcher = (process.env['BENCH_AGENT_COMMAND'] ?? join(root, 'bin', 'berth.js')).split(' ').filter((part) => part !== '');
const command = [...launcher, 'agent', '--config', configFile];
const agent = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
let heapAfterCollection = NaN;
createInterface({ input: agent.stdout }).on('line', (line) => {
  if (line.includes('"heap collected while idle"')) heapAfterCollection = (JSON.parse(line) as { heapAfterMiB: number }).heapAfterMiB;
  else if (/"level":[456]0/.test(line)) process.stderr.write(`${line}\n`);
});

const ids = (endpointId: string): { endpointId: string; agentEndpointId: string } => ({ endpointId, agentEndpointId: AGENT });
const clients: ControllerClient[] = [];
/** Retries while the agent is still starting (its WebSocket server not listening, its queue not yet declared). */
async function opened(open: () => Promise<ControllerClient>): Promise<ControllerClient> {
  for (let i = 0; ; i++) {
    try {
      const client = await open();
      clients.push(client);
      await client.request({ get: { paramPaths: ['Device.LocalAgent.EndpointID'] } }, { timeoutMs: 2000 });
      return client;
    } catch (error) {
      if (i > 40) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}


try {
  const transports: [string, ControllerClient][] = [];
  if (enabled.has('mqtt')) {
    transports.push(['MQTT (Mosquitto, QoS 0)', await opened(() => connectController({ brokerUrl: broker.url, endpointId: MQTT_CONTROLLER, agentEndpointId: AGENT, agentTopic: `usp/agent/${AGENT}`, replyTopic: 'usp/controller/bench', publishQos: 0 }))]);
  }
  if (enabled.has('stomp')) {
    transports.push([
      'STOMP (RabbitMQ)',
      await opened(async () =>
        createControllerSession(await connectStompWire({ brokerUrl: `stomp://127.0.0.1:${rabbit.stompPort}`, endpointId: STOMP_CONTROLLER, agentDestination: `/queue/usp.agent.${AGENT}`, replyDestination: '/queue/usp.controller.bench' }), ids(STOMP_CONTROLLER)),
      ),
    ]);
  }
  if (enabled.has('websocket')) {
    transports.push([
      plainWebSocket ? 'WebSocket (ws, no TLS)' : 'WebSocket (wss, client certificate)',
      await opened(async () => createControllerSession(await dialAgentWebSocket({ url: `${plainWebSocket ? 'ws' : 'wss'}://localhost:${wsPort}/usp`, endpointId: WS_CONTROLLER, caFile: pki.caFile, ...pki.client(WS_CONTROLLER) }), ids(WS_CONTROLLER))),
    ]);
  }
  const first = await transports[0]![1].get(['Device.LocalAgent.']);
  const params = first.reqPathResults![0]!.resolvedPathResults!.reduce((n, r) => n + Object.keys(r.resultParams ?? {}).length, 0);
  // Warm-up over each MTP: the agent is a long-running process; measure it once V8 has compiled the hot paths.
  for (const [, client] of transports) for (let i = 0; i < WARM_UP; i++) await client.get(['Device.LocalAgent.']);
  const results: [string, { times: number[]; perSecond: number }][] = [];
  for (const [name, client] of transports) results.push([name, await roundTrips(client, ROUND_TRIPS)]);

  // Idle: 3 s after the last request, once the agent has had its quiet-time collection.
  heapAfterCollection = NaN;
  await new Promise((r) => setTimeout(r, 3000));
  const idle = await residentMemory(agent.pid!);
  if (process.env['BENCH_SMAPS'] === '1') console.log(await largestMappings(agent.pid!));

  console.log(`\nbench:mtp — machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log(`one agent with MQTT, STOMP and WebSocket enabled; Get Device.LocalAgent. (${params} parameters), ${ROUND_TRIPS} sequential round trips per MTP after ${WARM_UP} warm-up each, on 127.0.0.1:`);
  const targets: [string, boolean][] = [];
  for (const [name, { times, perSecond }] of results) {
    const median = percentile(times, 50);
    console.log(`  ${name.padEnd(38)} median ${median.toFixed(3)} ms   p95 ${percentile(times, 95).toFixed(3)} ms   p99 ${percentile(times, 99).toFixed(3)} ms   throughput ${perSecond.toFixed(0)} round trips/s`);
    targets.push([`median ≤ 1.0 ms over ${name}`, median <= 1.0]);
  }
  console.log(`agent resident memory, idle, ${[...enabled].join(' + ')} enabled and in use: ${idle.mib.toFixed(1)} MiB (${idle.parts}); V8 heap after the idle collection ${Number.isNaN(heapAfterCollection) ? 'not collected' : `${heapAfterCollection.toFixed(2)} MiB`}`);
  targets.push(['idle RSS ≤ 62 MiB with all three MTPs', idle.mib <= 62]);
  for (const [name, ok] of targets) console.log(`  ${ok ? 'met ' : 'MISSED'}  ${name}`);
} finally {
  for (const client of clients) await client.close().catch(() => undefined);
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await broker.stop();
  await rabbit.stop();
  pki.remove();
  await rm(dataDir, { recursive: true, force: true });
}
