// `berth demo`: the whole story on this machine, printed step by step: a private Mosquitto, the signed catalog
// with the sample apps, a berth agent on the local Docker Engine, and a USP Controller that installs
// parental-control, shows it running with its resource use, updates it (and watches a broken update roll back),
// stops and uninstalls it — each step through the standard Device.SoftwareModules. data model.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfig } from '../config/config.ts';
import { createAgent } from '../app.ts';
import { createLogger } from '../log.ts';
import { startLocalBroker } from './local-broker.ts';
import { connectController } from '../controller/controller-client.ts';
import { formatGetResp } from './format.ts';
import { startSampleCatalog } from '../catalog/samples/sample-catalog.ts';
import { createDockerRuntime } from '../runtime/docker-runtime.ts';
import { LABEL_OWNER } from '../runtime/labels.ts';
import type { ControllerClient } from '../controller/controller-client.ts';
import { runAppVerb } from './ctl-apps.ts';
import type { CommandHelp } from './commands.ts';

const AGENT = 'os::012345-DEMO0001';
const CONTROLLER = 'proto::berth-ctl';

function step(title: string): void {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
}

/** catalog/ (the sample apps' sources), next to src/cli/ or to the bundle's dist/chunks/. */
function sampleSourcesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = join(here, '..', '..', 'catalog');
  if (!existsSync(join(found, 'parental-control', 'app.json'))) throw new Error('the sample apps (catalog/) are not next to this berth');
  return found;
}

function show(text: string): void {
  process.stdout.write(`${text.split('\n').map((line) => `   ${line}`).join('\n')}\n`);
}

/** The sample app's page, once it listens (Active means its container runs; the app needs a moment more). */
async function fetchApp(path: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${APP_PORT}${path}`, { signal: AbortSignal.timeout(3000) });
      return (await response.text()).trim();
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const APP_PORT = 18080;

export const DEMO_HELP: CommandHelp = {
  usage: `usage: berth demo [--keep] [--broker <mqtt-url>]
        a private Mosquitto (or --broker), the signed sample catalog and an agent on the local Docker Engine;
        a Controller installs, updates (and watches a broken update roll back), stops and uninstalls an app
        (--keep: leave the agent running and print berth ctl lines to try)
`,
};

export async function runDemo(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { keep: { type: 'boolean' }, broker: { type: 'string' } }, strict: true });
  const runtime = createDockerRuntime();
  try {
    await runtime.ping();
  } catch (error) {
    process.stderr.write(`berth demo needs the Docker Engine: ${(error as Error).message}\n  as root: apt-get install -y docker.io && dockerd &   (npm run demo does this for you)\n`);
    return 1;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-demo-'));
  const broker = values.broker ? { url: values.broker, stop: () => Promise.resolve() } : await startLocalBroker();
  const cleanup: (() => Promise<unknown>)[] = [() => rm(dataDir, { recursive: true, force: true }), () => broker.stop()];
  try {
    step(`Broker: ${broker.url}${values.broker ? '' : ' (a private Mosquitto started for this demo)'}`);

    step('The signed app catalog: the sample apps, built offline and published by their publisher (berth-samples.example)');
    const catalog = await startSampleCatalog({ dir: join(dataDir, 'sample-catalog'), catalogSourceDir: sampleSourcesDir() });
    cleanup.unshift(() => catalog.close());
    show(`catalog ${catalog.url} — open it in a browser for the list of apps`);
    for (const [release, url] of catalog.packages) show(`${release.padEnd(24)} ${url}`);

    const config = parseConfig({
      endpointId: AGENT,
      dataDir,
      mqtt: { url: broker.url, version: 5 },
      controllers: [{ endpointId: CONTROLLER, topic: `usp/controller/${CONTROLLER}` }],
      catalog: { url: catalog.url, root: catalog.rootFile },
      execEnvs: [{ name: 'apps', memoryKiB: 262_144, cpuPercent: 50, diskKiB: 1_048_576 }],
      smm: { updateProbationSeconds: 3, installProbationSeconds: 2, sampleIntervalSeconds: 2 },
      // The Controller's view tells the story; the agent's own log would interleave with it.
      log: { level: 'error' },
    });
    const agent = await createAgent(config, createLogger('error'));
    cleanup.unshift(() => agent.stop());
    agent.start();
    step(`Agent ${AGENT} started on the Docker Engine; state in ${dataDir}`);

    const controller = await connectController({ brokerUrl: broker.url, endpointId: CONTROLLER, agentEndpointId: AGENT, agentTopic: `usp/agent/${AGENT}`, replyTopic: `usp/controller/${CONTROLLER}` });
    cleanup.unshift(() => controller.close());
    // The agent sends an MQTTConnectRecord once it is subscribed; until then requests would go unheard.
    for (let i = 0; i < 100 && !agent.mtpUp; i++) await new Promise((r) => setTimeout(r, 50));
    // Remove whatever the demo's apps left on Docker, even if the demo is interrupted half-way.
    cleanup.unshift(() => removeDemoObjects(runtime));

    step('The Controller reads the gateway and its Execution Environment (Get over MQTT)');
    show(formatGetResp(await controller.get(['Device.LocalAgent.EndpointID', 'Device.SoftwareModules.ExecEnv.1.Status', 'Device.SoftwareModules.ExecEnv.1.Type', 'Device.SoftwareModules.ExecEnv.1.Version', 'Device.SoftwareModules.ExecEnv.1.AvailableMemory'])));

    const ctl = (verb: Parameters<typeof runAppVerb>[1], args: string[], options: { retainData?: boolean } = {}): Promise<number> =>
      runAppVerb(controller, verb, args, { timeoutMs: 30_000, ...options }, { line: show, json: () => undefined });

    step('Install parental-control 1.0.0 (InstallDU → verified through TUF → admitted → loaded → started)');
    show(`berth ctl install ${catalog.packages.get('parental-control@1.0.0')!}`);
    if ((await ctl('install', [catalog.packages.get('parental-control@1.0.0')!])) !== 0) return 1;
    show(`the app answers on http://127.0.0.1:${APP_PORT}/: ${(await fetchApp('/cgi-bin/check?host=malware.example')).split('\n')[0]!} for malware.example`);
    show(`a domain is blocked at runtime (kept in the app's data volume): ${await fetchApp('/cgi-bin/block?host=homework-distraction.example')}`);

    step('Running, with its resource use sampled from Docker (berth ctl apps)');
    await waitForUsage(controller);
    await ctl('apps', []);

    step('A version nobody signed is refused');
    await ctl('install', [catalog.packages.get('parental-control@1.0.0')!.replace('1.0.0', '9.9.9')]);

    step('Update to 1.1.0: the new version starts, proves itself, the data comes along');
    await ctl('update', ['parental-control', catalog.packages.get('parental-control@1.1.0')!]);
    show(`now: ${(await fetchApp('/')).split('\n').find((line) => line.includes('1.1.0'))?.replace(/<[^>]+>/g, '').trim() ?? '?'}`);
    show(`homework-distraction.example is still blocked: ${await fetchApp('/cgi-bin/check?host=homework-distraction.example')}`);

    step('Update to 1.2.0, a broken release that exits after a second: rolled back, 1.1.0 runs on');
    await ctl('update', ['parental-control', catalog.packages.get('parental-control@1.2.0')!]);

    step('Stop it (SetRequestedState Idle), then uninstall it');
    await ctl('stop', ['parental-control']);
    await ctl('uninstall', ['parental-control']);
    const left = await runtime.listContainers(`${LABEL_OWNER}=${AGENT}`);
    show(`containers, volumes and networks of the app left on Docker: ${left.length + (await runtime.listVolumes(`${LABEL_OWNER}=${AGENT}`)).length + (await runtime.listNetworks(`${LABEL_OWNER}=${AGENT}`)).length}`);

    step('Try it yourself while the demo runs (--keep), for example:');
    show(`node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} install ${catalog.packages.get('energy-monitor@1.0.0')!}
node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} apps
node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} get Device.SoftwareModules.
node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} uninstall energy-monitor`);
    if (values.keep) {
      process.stdout.write('\n(running until Ctrl-C)\n');
      await new Promise<void>((resolve) => process.once('SIGINT', () => { resolve(); }));
    }
    step('Done: agent, catalog and broker stopped, nothing left behind');
    return 0;
  } finally {
    for (const task of cleanup) await task().catch(() => undefined);
  }
}

/** Waits until the first usage sample of the installed unit is in (MemoryInUse above 0). */
async function waitForUsage(controller: ControllerClient): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const resp = await controller.get(['Device.SoftwareModules.ExecutionUnit.*.MemoryInUse']);
    const values = (resp.reqPathResults?.[0]?.resolvedPathResults ?? []).map((r) => Number(r.resultParams?.['MemoryInUse'] ?? 0));
    if (values.some((v) => v > 0)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function removeDemoObjects(runtime: ReturnType<typeof createDockerRuntime>): Promise<void> {
  const label = `${LABEL_OWNER}=${AGENT}`;
  for (const container of await runtime.listContainers(label)) await runtime.removeContainer(container.id).catch(() => undefined);
  for (const volume of await runtime.listVolumes(label)) await runtime.removeVolume(volume.name).catch(() => undefined);
  for (const network of await runtime.listNetworks(label)) await runtime.removeNetwork(network.id).catch(() => undefined);
}
