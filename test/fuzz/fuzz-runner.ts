// The fuzz run: a real Mosquitto, the agent as its own process, and the fuzz Controller publishing generated inputs
// to the agent's topic. After inputs, a sync Get (the agent answers it only after everything before it) pins a
// stall, a crash or an error to the few inputs since the last good one. After each batch, the probe Controller
// checks what a user would: the agent answers, holds no rows it never reported creating and no table past the
// row bound, can be reset to where it started, publishes nothing and uses no CPU once idle, and its resident
// memory is back near its baseline. At the end it must stop cleanly on SIGTERM and start again from its state.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.ts';
import type { Broker } from '../helpers/mosquitto.ts';
import { connectController } from '../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../src/controller/controller-client.ts';
import { encodeMsg, encodeRecord, buildNoSessionRecord } from '../../src/usp/codec.ts';
import { usp } from '../../src/usp/generated/usp.js';
import { buildBundle, startFuzzedAgent } from './fuzzed-agent.ts';
import type { FuzzedAgent } from './fuzzed-agent.ts';
import { openFuzzLink } from './fuzz-link.ts';
import type { FuzzLink } from './fuzz-link.ts';
import { generateInput } from './fuzz-input.ts';
import type { FuzzInput, GeneratorName, InputSettings } from './fuzz-input.ts';
import type { FuzzBounds, FuzzTarget } from './usp-messages.ts';
import { listRows, resetSandbox, rowCounts, unexplainedRows } from './agent-state.ts';
import { readFileTail, saveFinding } from './failure-store.ts';
import type { Finding } from './failure-store.ts';
import { mixSeed } from './prng.ts';

export const TARGET: FuzzTarget = {
  agentId: 'os::012345-FUZZ01',
  agentTopic: 'usp/agent/os::012345-FUZZ01',
  controllerId: 'proto::fuzz',
  probeControllerId: 'proto::fuzz-probe',
};
const CONTROLLER_TOPIC = 'usp/controller/fuzz';
const REPLY_TOPIC = 'usp/controller/fuzz/reply';
const PROBE_TOPIC = 'usp/controller/fuzz-probe';
/** The agent's default mqtt.maxMessageBytes, and the test broker's max_packet_size (test/helpers/mosquitto.ts). */
const AGENT_MAX_MESSAGE_BYTES = 5 * 1024 * 1024;
const BROKER_MAX_PACKET_BYTES = 10 * 1024 * 1024;
/** Share of inputs followed by a sync; the others go out back to back with the next ones. */
const SYNC_PERCENT = 85;
/** Once idle, the agent may use this share of one core (its 1 s checks, the idle collection) and publish nothing. */
const IDLE_CPU_PERCENT = 10;
const IDLE_WINDOW_MS = 1500;

export interface FuzzOptions {
  readonly seed: number;
  /** Most inputs sent (skipped ones do not count). */
  readonly records: number;
  /** Stop generating after this many seconds (the checks of the last batch still run). */
  readonly seconds: number;
  readonly batchSize: number;
  readonly bounds: FuzzBounds;
  readonly weights?: Readonly<Partial<Record<GeneratorName, number>>>;
  /** How long the agent may take to answer a sync after inputs (a stall past it is a finding). */
  readonly stallMs: number;
  /** How long the probe Controller's Get may take after a batch. */
  readonly probeTimeoutMs: number;
  /** Idle resident memory may exceed the baseline by this much. */
  readonly rssMarginMiB: number;
  /** The V8 heap left by the idle collection may exceed the baseline's by this much. */
  readonly heapMarginMiB: number;
  /** Most rows one table may hold after a batch. */
  readonly maxRowsPerTable: number;
  /** Run the TypeScript sources instead of the production bundle. */
  readonly fromSource: boolean;
  /** Run this built CLI (its main.js) instead of building the bundle. */
  readonly entry?: string;
  /** After a finding, start a fresh agent and go on (else stop at the first). */
  readonly keepGoing: boolean;
  /** Where findings are saved. */
  readonly outDir: string;
  /** Only this batch (and, with `record`, only that input of it). */
  readonly only?: { readonly batch: number; readonly record?: number };
  /** Send these inputs (a saved folder) instead of generating. */
  readonly replay?: readonly FuzzInput[];
  /** The command line that makes the same inputs, minus the batch/record part (for reports). */
  readonly reproduceCommand: string;
  readonly log: (line: string) => void;
}

export interface BatchSummary {
  readonly batch: number;
  readonly sent: number;
  readonly skipped: number;
  readonly seconds: number;
  readonly slowestMs: number;
  readonly slowestRecord: number;
  readonly probeMs: number;
  readonly rows: number;
  readonly idleRssMiB: number;
  /** Its anonymous and file-backed parts. */
  readonly idleRssParts: string;
  readonly heapMiB: number;
  readonly idleCpuPercent: number;
}

export interface FuzzReport {
  readonly seed: number;
  readonly findings: readonly Finding[];
  readonly batches: readonly BatchSummary[];
  readonly sent: number;
  readonly skipped: number;
  readonly baselineRssMiB: number;
  readonly baselineHeapMiB: number;
  readonly elapsedSeconds: number;
  readonly brokerReconnects: number;
}

interface Session {
  readonly agent: FuzzedAgent;
  readonly link: FuzzLink;
  readonly probe: ControllerClient;
  readonly initialRows: ReadonlySet<string>;
  readonly baselineRssMiB: number;
  readonly baselineHeapMiB: number;
}

class FindingError extends Error {
  readonly kind: string;
  readonly records: readonly number[] | undefined;
  constructor(kind: string, message: string, records?: readonly number[]) {
    super(message);
    this.kind = kind;
    this.records = records;
  }
}

/** The agent's last few warning lines (level 40+), for a stall's report. */
function lastWarnings(agent: FuzzedAgent): string {
  const lines = agent.tail().filter((line) => /"level":[456]0/.test(line)).slice(-3);
  return lines.length > 0 ? lines.map((line) => line.slice(0, 300)).join(' | ') : 'none';
}

/** Temp folders of this process, removed even when it is interrupted (the agent and broker are killed on exit by their starters). */
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function agentConfig(brokerUrl: string): Record<string, unknown> {
  return {
    endpointId: TARGET.agentId,
    mqtt: { url: brokerUrl, version: 5, connectRetryTime: 1 },
    controllers: [
      { endpointId: TARGET.controllerId, topic: CONTROLLER_TOPIC },
      { endpointId: TARGET.probeControllerId, topic: PROBE_TOPIC },
    ],
  };
}

/** Valid requests of each kind, sent before the baseline is read, so that V8 has compiled the common paths. */
function warmUpRecords(): Uint8Array[] {
  const T = usp.Header.MsgType;
  const requests: [usp.Header.MsgType, usp.Request.$Properties][] = [
    [T.GET, { get: { paramPaths: ['Device.LocalAgent.'], maxDepth: 0 } }],
    [T.GET, { get: { paramPaths: ['Device.'], maxDepth: 2 } }],
    [T.GET_INSTANCES, { getInstances: { objPaths: ['Device.LocalAgent.'], firstLevelOnly: false } }],
    [T.GET_SUPPORTED_DM, { getSupportedDm: { objPaths: ['Device.'], returnCommands: true, returnEvents: true, returnParams: true, returnUniqueKeySets: true } }],
    [T.GET_SUPPORTED_PROTO, { getSupportedProtocol: { controllerSupportedProtocolVersions: '1.4' } }],
    [T.ADD, { add: { allowPartial: false, createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'NotifType', value: 'ValueChange', required: true }, { param: 'ReferenceList', value: 'Device.LocalAgent.Controller.', required: true }, { param: 'ID', value: 'warm-up', required: true }] }] } }],
    [T.SET, { set: { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Subscription.[ID=="warm-up"].', paramSettings: [{ param: 'Enable', value: 'true', required: true }] }] } }],
    [T.DELETE, { delete: { allowPartial: true, objPaths: ['Device.LocalAgent.Subscription.[ID=="warm-up"].'] } }],
    [T.GET, { get: { paramPaths: ['Device.LocalAgent.Controller.*.EndpointID', 'Device.Nope.', 'Device.LocalAgent.Controller.[Enable==true].'] } }],
  ];
  return requests.map(([msgType, request], i) => encodeRecord(buildNoSessionRecord({
    toId: TARGET.agentId,
    fromId: TARGET.controllerId,
    msg: encodeMsg({ header: { msgId: `warm-up-${i}`, msgType }, body: { request } }),
  })));
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { log } = options;
  const started = Date.now();
  const settings: InputSettings = {
    target: TARGET,
    bounds: options.bounds,
    agentMaxMessageBytes: AGENT_MAX_MESSAGE_BYTES,
    brokerMaxPacketBytes: BROKER_MAX_PACKET_BYTES,
    maxRandomBytes: 1024 * 1024,
    ...(options.weights !== undefined && { weights: options.weights }),
  };
  const findings: Finding[] = [];
  const batches: BatchSummary[] = [];
  const seen = new Set<string>();
  let sent = 0;
  let skipped = 0;
  let brokerReconnects = 0;
  let broker: Broker | undefined;
  let bundle: { entry: string; dir: string; remove: () => Promise<void> } | undefined;
  let session: Session | undefined;
  const dataDirs: string[] = [];
  let baseline = { rss: NaN, heap: NaN };

  const settle = async (current: Session, since: number): Promise<{ rss: number; rssParts: string; heap: number; cpuPercent: number; messages: number }> => {
    // The agent collects once it has been quiet for 1 s (checked every second): wait for that collection.
    const collection = await current.agent.waitForCollection(since, 5000);
    const cpu0 = await current.agent.cpuSeconds();
    const messages0 = current.link.messagesSeen();
    await sleep(IDLE_WINDOW_MS);
    const cpu1 = await current.agent.cpuSeconds();
    const messages = current.link.messagesSeen() - messages0;
    const lastHeap = collection?.heapAfterMiB ?? current.agent.collectionsSince(0).at(-1)?.heapAfterMiB ?? NaN;
    const rss = await current.agent.rss();
    return { rss: rss.mib, rssParts: `anonymous ${rss.anonMiB.toFixed(1)} + files ${rss.fileMiB.toFixed(1)}`, heap: lastHeap, cpuPercent: ((cpu1 - cpu0) / (IDLE_WINDOW_MS / 1000)) * 100, messages };
  };

  const startSession = async (): Promise<Session> => {
    if (!broker) throw new Error('no broker');
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-fuzz-agent-'));
    dataDirs.push(dataDir);
    tempDirs.add(dataDir);
    const agent = await startFuzzedAgent(agentConfig(broker.url), { dataDir, entry: bundle?.entry });
    const link = await openFuzzLink({ brokerUrl: broker.url, target: TARGET, controllerTopic: CONTROLLER_TOPIC, replyTopic: REPLY_TOPIC });
    const probe = await connectController({ brokerUrl: broker.url, endpointId: TARGET.probeControllerId, agentEndpointId: TARGET.agentId, agentTopic: TARGET.agentTopic, replyTopic: PROBE_TOPIC });
    probe.autoNotifyResp = true;
    const ready = Date.now() + 30_000;
    for (;;) {
      try {
        await probe.get(['Device.LocalAgent.EndpointID'], 0);
        break;
      } catch (error) {
        if (Date.now() > ready || agent.exitCode() !== null) throw new Error(`the agent did not answer after starting: ${(error as Error).message}\n${agent.tail().slice(-20).join('\n')}`);
        await sleep(200);
      }
    }
    const initialRows = new Set(await listRows(probe, options.probeTimeoutMs));
    const warmUp = warmUpRecords();
    for (let round = 0; round < 30; round++) {
      for (const bytes of warmUp) await link.publish({ channel: 'v5-reply', bytes });
      await link.sync(options.stallMs * 4);
    }
    const left = await resetSandbox(probe, initialRows, 10_000);
    if (left.length > 0) throw new Error(`the warm-up left rows behind: ${left.join(', ')}`);
    const errors = agent.takeErrorLines();
    if (errors.length > 0) throw new Error(`the agent logged errors before any fuzz input:\n${errors.join('\n')}`);
    const idle = await settle({ agent, link, probe, initialRows, baselineRssMiB: NaN, baselineHeapMiB: NaN }, Date.now());
    log(`agent pid ${agent.pid} (${bundle ? 'production bundle' : 'TypeScript sources'}), ${initialRows.size} rows; baseline after warm-up and idle collection: RSS ${idle.rss.toFixed(1)} MiB (${idle.rssParts}), V8 heap ${idle.heap.toFixed(1)} MiB`);
    return { agent, link, probe, initialRows, baselineRssMiB: idle.rss, baselineHeapMiB: idle.heap };
  };

  const endSession = async (current: Session): Promise<void> => {
    brokerReconnects += current.link.reconnects();
    await current.probe.close().catch(() => undefined);
    await current.link.close().catch(() => undefined);
    await current.agent.kill();
  };

  /** Checks after inputs: the agent still runs and has reported nothing wrong. */
  const checkAfterInputs = (current: Session, records: readonly number[]): void => {
    const code = current.agent.exitCode();
    if (code !== null) throw new FindingError('crash', `the agent exited (code ${code})`, records);
    const errors = current.agent.takeErrorLines();
    if (errors.length > 0) throw new FindingError('error-log', `the agent logged ${errors.length} error line(s), first: ${errors[0]!.slice(0, 800)}`, records);
    const outputs = current.link.agentOutputs();
    if (outputs.internalErrors.length > 0) {
      const pinned = /msg_id "fz-(\d+)-(\d+)"/.exec(outputs.internalErrors[0]!);
      throw new FindingError('internal-error', `the agent answered with Internal error 7003: ${outputs.internalErrors[0]!}`, pinned ? [Number(pinned[2])] : records);
    }
    if (outputs.undecodable > 0) throw new FindingError('undecodable-output', `the agent published ${outputs.undecodable} message(s) that are not USP Records`, records);
    if (outputs.selfAddressed > 0) throw new FindingError('self-addressed', `the agent published ${outputs.selfAddressed} Record(s) to its own topic addressed to its own Endpoint ID: it receives and answers its own messages`, records);
  };

  const checkBatch = async (current: Session, batch: number): Promise<Omit<BatchSummary, 'batch' | 'sent' | 'skipped' | 'seconds' | 'slowestMs' | 'slowestRecord'>> => {
    const probeStart = performance.now();
    let value: string | undefined;
    try {
      value = (await current.probe.get(['Device.LocalAgent.EndpointID'], 0)).reqPathResults?.[0]?.resolvedPathResults?.[0]?.resultParams?.['EndpointID'];
    } catch (error) {
      throw new FindingError('unresponsive', `the probe Controller's Get of Device.LocalAgent.EndpointID failed after batch ${batch}: ${(error as Error).message}`);
    }
    const probeMs = performance.now() - probeStart;
    if (value !== TARGET.agentId) throw new FindingError('unresponsive', `Device.LocalAgent.EndpointID reads ${JSON.stringify(value)}, not ${TARGET.agentId}`);
    const rows = await listRows(current.probe, options.probeTimeoutMs);
    const unexplained = unexplainedRows(rows, current.initialRows, current.link.agentOutputs().createdRows);
    if (unexplained.length > 0) throw new FindingError('rows', `${unexplained.length} row(s) exist that the agent never reported creating: ${unexplained.slice(0, 10).join(', ')}`);
    const [largest] = rowCounts(rows);
    if (largest && largest[1] > options.maxRowsPerTable) throw new FindingError('row-limit', `${largest[0]} holds ${largest[1]} rows after batch ${batch} (bound ${options.maxRowsPerTable}): nothing stopped a Controller from adding them`);
    const resetAt = Date.now();
    let left: string[];
    try {
      left = await resetSandbox(current.probe, current.initialRows, Math.max(options.probeTimeoutMs, 30_000));
    } catch (error) {
      throw new FindingError('reset', `deleting the batch's rows through the probe Controller failed: ${(error as Error).message}`);
    }
    if (left.length > 0) throw new FindingError('reset', `rows left after deleting the batch's rows: ${left.slice(0, 10).join(', ')}`);
    const idle = await settle(current, resetAt);
    if (idle.messages > 0 || idle.cpuPercent > IDLE_CPU_PERCENT) {
      throw new FindingError('busy-when-idle', `with no input for seconds the agent still used ${idle.cpuPercent.toFixed(0)} % of a core and ${idle.messages} MQTT message(s) went by in ${IDLE_WINDOW_MS} ms`);
    }
    if (idle.rss > current.baselineRssMiB + options.rssMarginMiB) {
      throw new FindingError('memory', `idle RSS ${idle.rss.toFixed(1)} MiB after batch ${batch}: more than baseline ${current.baselineRssMiB.toFixed(1)} + ${options.rssMarginMiB} MiB (V8 heap ${idle.heap.toFixed(1)} MiB, baseline ${current.baselineHeapMiB.toFixed(1)})`);
    }
    if (idle.heap > current.baselineHeapMiB + options.heapMarginMiB) {
      throw new FindingError('memory', `the V8 heap after the idle collection is ${idle.heap.toFixed(1)} MiB after batch ${batch}: more than baseline ${current.baselineHeapMiB.toFixed(1)} + ${options.heapMarginMiB} MiB (idle RSS ${idle.rss.toFixed(1)} MiB)`);
    }
    checkAfterInputs(current, []);
    return { probeMs, rows: rows.length, idleRssMiB: idle.rss, idleRssParts: idle.rssParts, heapMiB: idle.heap, idleCpuPercent: idle.cpuPercent };
  };

  const report = async (error: FindingError, batch: number, window: readonly FuzzInput[], batchInputs: readonly FuzzInput[], current: Session): Promise<void> => {
    const records = error.records && error.records.length > 0 ? error.records : window.length > 0 ? window.map((i) => i.index) : batchInputs.map((i) => i.index);
    const inputs = batchInputs.filter((i) => records.includes(i.index));
    const single = records.length === 1 && !options.replay;
    const finding: Finding = {
      kind: error.kind,
      message: error.message,
      batch,
      records,
      reproduce: options.replay ? '(replayed inputs: see --replay)' : `${options.reproduceCommand} --batch ${batch}${single ? ` --record ${records[0]!}` : ''}`,
    };
    // The same kind and the same first clause (numbers aside) is the same finding: saved once, counted each time.
    const signature = `${error.kind}:${error.message.split(/[;(]/, 1)[0]!.replace(/\d+(\.\d+)?/g, 'N')}`;
    const repeated = seen.has(signature);
    seen.add(signature);
    if (!repeated) {
      finding.savedTo = await saveFinding(options.outDir, options.seed, finding, inputs, {
        agent: current.agent.tail(),
        agentNotable: current.agent.notableTail(),
        broker: broker ? await readFileTail(broker.logFile, 300) : '',
      });
    }
    findings.push(finding);
    const range = records.length === 1 ? `record ${records[0]!}` : `records ${records[0]!}–${records[records.length - 1]!}`;
    log(`FINDING ${error.kind} in batch ${batch}, ${range}: ${error.message}`);
    for (const input of inputs.slice(0, 5)) log(`  input ${input.batch}/${input.index} (${input.generator}): ${input.description.slice(0, 300)}`);
    if (inputs.length > 5) log(`  … and ${inputs.length - 5} more inputs`);
    log(`  reproduce: ${finding.reproduce}`);
    if (finding.savedTo) log(`  inputs saved to ${finding.savedTo}`);
    else log('  (same finding as before: inputs not saved again)');
  };

  try {
    // Nagle off: each input waits for its PUBACK and for the sync answer, and Mosquitto's default (Nagle on) adds a
    // delayed ACK, ~40 ms, to each of those round trips (measured: 9 s per 250 inputs instead of 1 s).
    broker = await startMosquitto();
    tempDirs.add(dirname(broker.logFile));
    if (options.entry !== undefined) {
      bundle = { entry: options.entry, dir: '', remove: () => Promise.resolve() };
    } else if (!options.fromSource) {
      bundle = await buildBundle();
      tempDirs.add(bundle.dir);
    }
    session = await startSession();
    baseline = { rss: session.baselineRssMiB, heap: session.baselineHeapMiB };
    const deadline = started + options.seconds * 1000;
    const firstBatch = options.only?.batch ?? 0;
    let stop = false;
    for (let batch = firstBatch; !stop; batch++) {
      if (options.only && batch !== options.only.batch) break;
      if (!options.replay && !options.only && (sent >= options.records || Date.now() > deadline)) break;
      if (options.replay && batch !== firstBatch) break;
      const current: Session = session;
      const batchStart = Date.now();
      const batchInputs: FuzzInput[] = [];
      let window: FuzzInput[] = [];
      let batchSkipped = 0;
      let slowest = { ms: 0, record: -1 };
      try {
        const count = options.replay ? options.replay.length : options.batchSize;
        for (let index = 0; index < count; index++) {
          if (!options.replay && (sent >= options.records || Date.now() > deadline)) {
            stop = true;
            break;
          }
          if (options.only?.record !== undefined && index !== options.only.record) continue;
          const input = options.replay ? options.replay[index]! : generateInput(options.seed, batch, index, settings);
          if (input.skipped) {
            batchSkipped += 1;
            continue;
          }
          batchInputs.push(input);
          window.push(input);
          for (const publish of input.publishes) await current.link.publish(publish);
          sent += 1;
          const last = index === count - 1 || sent >= options.records || options.only?.record !== undefined;
          if (last || options.replay || mixSeed(options.seed, batch, index, 0x5e) % 100 < SYNC_PERCENT) {
            let ms: number;
            try {
              ms = await current.link.sync(options.stallMs);
            } catch (error) {
              const code = current.agent.exitCode();
              if (code !== null) throw new FindingError('crash', `the agent exited (code ${code})`);
              throw new FindingError('stall', `after these inputs the agent did not answer a Get within ${options.stallMs} ms (${(error as Error).message}); its last warnings: ${lastWarnings(current.agent)}`);
            }
            if (ms > slowest.ms) slowest = { ms, record: index };
            checkAfterInputs(current, window.map((i) => i.index));
            window = [];
          }
        }
        if (options.only?.record !== undefined) stop = true;
        if (options.replay) stop = true;
        const batchSeconds = (Date.now() - batchStart) / 1000;
        const checked = await checkBatch(current, batch);
        skipped += batchSkipped;
        const summary: BatchSummary = { batch, sent: batchInputs.length, skipped: batchSkipped, seconds: batchSeconds, slowestMs: slowest.ms, slowestRecord: slowest.record, ...checked };
        batches.push(summary);
        log(
          `batch ${batch}: ${summary.sent} inputs${summary.skipped > 0 ? ` (+${summary.skipped} not sent: writes outside the sandbox)` : ''} in ${batchSeconds.toFixed(1)} s, slowest answer ${summary.slowestMs.toFixed(0)} ms (record ${summary.slowestRecord}); ` +
            `probe ${summary.probeMs.toFixed(1)} ms; ${summary.rows} rows before reset; idle: RSS ${summary.idleRssMiB.toFixed(1)} MiB (${summary.idleRssMiB >= current.baselineRssMiB ? '+' : ''}${(summary.idleRssMiB - current.baselineRssMiB).toFixed(1)}; ${summary.idleRssParts}), V8 heap ${summary.heapMiB.toFixed(1)} MiB, CPU ${summary.idleCpuPercent.toFixed(1)} %`,
        );
      } catch (error) {
        if (!(error instanceof FindingError)) throw error;
        skipped += batchSkipped;
        await report(error, batch, window, batchInputs, current);
        if (!options.keepGoing || options.only || options.replay) {
          stop = true;
          break;
        }
        await endSession(current);
        session = undefined;
        session = await startSession();
      }
    }
    if (findings.length === 0 && session) {
      // Stop and start again: the agent must shut down cleanly and come back from what the fuzz left in its state.
      const current = session;
      session = undefined;
      const code = await current.agent.stop(10_000);
      await current.probe.close().catch(() => undefined);
      await current.link.close().catch(() => undefined);
      brokerReconnects += current.link.reconnects();
      if (code !== 0) {
        findings.push({ kind: 'restart', message: `on SIGTERM the agent exited with code ${String(code)}`, batch: -1, records: [], reproduce: options.reproduceCommand });
      } else {
        const again = await startFuzzedAgent(agentConfig(broker.url), { dataDir: current.agent.dataDir, entry: bundle?.entry });
        const probe = await connectController({ brokerUrl: broker.url, endpointId: TARGET.probeControllerId, agentEndpointId: TARGET.agentId, agentTopic: TARGET.agentTopic, replyTopic: PROBE_TOPIC });
        try {
          const ready = Date.now() + 30_000;
          let rows: string[] | undefined;
          while (!rows) {
            try {
              rows = await listRows(probe, 2000);
            } catch (error) {
              if (Date.now() > ready || again.exitCode() !== null) throw new FindingError('restart', `after a restart on the fuzzed state the agent did not answer: ${(error as Error).message}`);
              await sleep(200);
            }
          }
          const extra = rows.filter((row) => !current.initialRows.has(row));
          if (extra.length > 0) throw new FindingError('restart', `after a restart the agent holds rows it did not start with: ${extra.slice(0, 10).join(', ')}`);
          log(`restart: SIGTERM exit code 0, started again on the fuzzed state with its ${rows.length} initial rows`);
        } catch (error) {
          if (!(error instanceof FindingError)) throw error;
          findings.push({ kind: error.kind, message: error.message, batch: -1, records: [], reproduce: options.reproduceCommand });
          log(`FINDING ${error.kind}: ${error.message}`);
        } finally {
          await probe.close().catch(() => undefined);
          await again.stop(5000);
        }
      }
    }
  } finally {
    if (session) await endSession(session).catch(() => undefined);
    await broker?.stop().catch(() => undefined);
    await bundle?.remove().catch(() => undefined);
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  return {
    seed: options.seed,
    findings,
    batches,
    sent,
    skipped,
    baselineRssMiB: baseline.rss,
    baselineHeapMiB: baseline.heap,
    elapsedSeconds: (Date.now() - started) / 1000,
    brokerReconnects,
  };
}
