// `berth demo`: the whole story on this machine, printed step by step. Today: a private Mosquitto, a berth
// agent, and a USP Controller that reads, writes, subscribes and runs commands through the standard data model;
// then the signed catalog with the sample apps, and a gateway verifying one of them.
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
import { formatGetResp, formatNotify, formatOperateResp, formatSetResp } from './format.ts';
import { startSampleCatalog } from '../catalog/samples/sample-catalog.ts';
import { createCatalogClient } from '../catalog/client/catalog-client.ts';
import { CatalogError } from '../catalog/client/catalog-error.ts';
import { BERTH_VERSION } from '../version.ts';

const AGENT = 'os::012345-DEMO0001';
const CONTROLLER = 'proto::berth-ctl';

function step(title: string): void {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
}

/** catalog/ (the sample apps' sources) from the sources or from dist/. */
function sampleSourcesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [join(here, '..', '..', 'catalog'), join(here, '..', '..', '..', 'catalog')].find((dir) => existsSync(join(dir, 'parental-control', 'app.json')));
  if (!found) throw new Error('the sample apps (catalog/) are not next to this berth');
  return found;
}

async function expectRefused(attempt: Promise<unknown>, what: string): Promise<void> {
  try {
    await attempt;
    show(`! ${what} was accepted`);
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    show(`${what} is refused: USP fault ${error.uspCode}, ${error.message}`);
  }
}

function show(text: string): void {
  process.stdout.write(`${text.split('\n').map((line) => `   ${line}`).join('\n')}\n`);
}

export async function runDemo(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { keep: { type: 'boolean' }, broker: { type: 'string' } }, strict: true });
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-demo-'));
  const broker = values.broker ? { url: values.broker, stop: () => Promise.resolve() } : await startLocalBroker();
  const cleanup: (() => Promise<unknown>)[] = [() => rm(dataDir, { recursive: true, force: true }), () => broker.stop()];
  try {
    step(`Broker: ${broker.url}${values.broker ? '' : ' (a private Mosquitto started for this demo)'}`);
    const config = parseConfig({
      endpointId: AGENT,
      dataDir,
      mqtt: { url: broker.url, version: 5 },
      controllers: [{ endpointId: CONTROLLER, topic: `usp/controller/${CONTROLLER}` }],
      log: { level: 'warn' },
    });
    const agent = await createAgent(config, createLogger('warn'));
    cleanup.unshift(() => agent.stop());
    agent.start();
    step(`Agent ${AGENT} started; state in ${dataDir}`);

    const controller = await connectController({ brokerUrl: broker.url, endpointId: CONTROLLER, agentEndpointId: AGENT, agentTopic: `usp/agent/${AGENT}`, replyTopic: `usp/controller/${CONTROLLER}` });
    cleanup.unshift(() => controller.close());
    // The agent sends an MQTTConnectRecord once it is subscribed; until then requests would go unheard.
    for (let i = 0; i < 100 && agent.mtpStatus !== 'Connected'; i++) await new Promise((r) => setTimeout(r, 50));

    step('Controller reads who the gateway is (Get Device.DeviceInfo. and Device.LocalAgent.EndpointID)');
    show(formatGetResp(await controller.get(['Device.DeviceInfo.', 'Device.LocalAgent.EndpointID', 'Device.LocalAgent.SoftwareVersion'])));

    step('Controller subscribes to changes of its own ProvisioningCode, then sets it');
    const sub = await controller.request({
      add: {
        allowPartial: false,
        createObjs: [
          {
            objPath: 'Device.LocalAgent.Subscription.',
            paramSettings: [
              { param: 'NotifType', value: 'ValueChange', required: true },
              { param: 'ReferenceList', value: 'Device.LocalAgent.Controller.[EndpointID=="proto::berth-ctl"].ProvisioningCode', required: true },
              { param: 'Enable', value: 'true', required: true },
            ],
          },
        ],
      },
    });
    show(`subscription ${sub.addResp?.createdObjResults?.[0]?.operStatus?.operSuccess?.instantiatedPath ?? '?'}`);
    const change = controller.nextNotify((n) => n.valueChange != null);
    const set = await controller.request({
      set: { allowPartial: false, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.[EndpointID=="proto::berth-ctl"].', paramSettings: [{ param: 'ProvisioningCode', value: 'demo-2026', required: true }] }] },
    });
    show(formatSetResp(set.setResp!));
    show(`notified → ${formatNotify(await change)}`);

    step('A bad request gets a precise USP error, and the agent keeps serving');
    const bad = await controller.request({ set: { allowPartial: true, updateObjs: [{ objPath: 'Device.LocalAgent.Controller.1.', paramSettings: [{ param: 'PeriodicNotifInterval', value: 'often', required: true }] }] } });
    show(formatSetResp(bad.setResp!));

    step('An asynchronous command: Device.ScheduleTimer(DelaySeconds=1), followed to OperationComplete');
    await controller.request({
      add: {
        allowPartial: false,
        createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'NotifType', value: 'OperationComplete' }, { param: 'ReferenceList', value: 'Device.ScheduleTimer()' }, { param: 'Enable', value: 'true' }] }],
      },
    });
    const complete = controller.nextNotify((n) => n.operComplete?.commandKey === 'demo-timer');
    const operate = await controller.request({ operate: { command: 'Device.ScheduleTimer()', commandKey: 'demo-timer', sendResp: true, inputArgs: { DelaySeconds: '1' } } });
    show(formatOperateResp(operate.operateResp!));
    show(formatNotify(await complete));

    step('The signed app catalog: the sample apps, built offline and published by their publisher (berth-samples.example)');
    const catalog = await startSampleCatalog({ dir: join(dataDir, 'sample-catalog'), catalogSourceDir: sampleSourcesDir() });
    cleanup.unshift(() => catalog.close());
    show(`catalog ${catalog.url} — open it in a browser for the list of apps`);
    for (const [release, url] of catalog.packages) show(`${release.padEnd(24)} ${url}`);

    step('The gateway verifies parental-control 1.0.0 through TUF before it would install it');
    const gateway = createCatalogClient({ url: catalog.url, rootFile: catalog.rootFile, stateDir: join(dataDir, 'catalog-trust'), berthVersion: BERTH_VERSION });
    const started = Date.now();
    const resolved = await gateway.resolve(catalog.packages.get('parental-control@1.0.0')!);
    const eu = resolved.custom.executionUnits[0]!;
    show(`signed by ${resolved.custom.vendor}: ${resolved.custom.name} ${resolved.custom.version}, ${resolved.length} bytes, needs ${eu.memoryKiB} KiB memory, ${eu.cpuPercent}% CPU, ${eu.diskKiB} KiB disk (known before downloading)`);
    const verified = await gateway.download(resolved, { workDir: join(dataDir, 'unpacked') });
    show(`downloaded, length and sha256 checked, unpacked in one pass (${Date.now() - started} ms): image ${verified.imagePath}`);
    await expectRefused(gateway.resolve(`${catalog.url}/targets/berth-samples.example/parental-control/parental-control-9.9.9.berth`), 'a version nobody signed');

    step('Try it yourself while the demo runs (--keep), for example:');
    show(`node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} get Device.LocalAgent.Controller.
node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} supported Device.LocalAgent.Subscription.{i}.
node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} operate 'Device.ScheduleTimer()' DelaySeconds=2 --wait
node bin/berth.js app verify ${catalog.packages.get('energy-monitor@1.0.0')!} --catalog ${catalog.url} --root ${catalog.rootFile}`);
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
