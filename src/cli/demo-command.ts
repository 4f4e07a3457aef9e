// `berth demo`: the whole story on this machine, printed step by step. Today: a private Mosquitto, a berth
// agent, and a USP Controller that reads, writes, subscribes and runs commands through the standard data model.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../config/config.ts';
import { createAgent } from '../app.ts';
import { createLogger } from '../log.ts';
import { startLocalBroker } from './local-broker.ts';
import { connectController } from '../controller/controller-client.ts';
import { formatGetResp, formatNotify, formatOperateResp, formatSetResp } from './format.ts';

const AGENT = 'os::012345-DEMO0001';
const CONTROLLER = 'proto::berth-ctl';

function step(title: string): void {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
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

    step('Try it yourself while the demo runs (--keep), for example:');
    show(`node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} get Device.LocalAgent.Controller.
node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} supported Device.LocalAgent.Subscription.{i}.
node bin/berth.js ctl --broker ${broker.url} --agent ${AGENT} operate 'Device.ScheduleTimer()' DelaySeconds=2 --wait`);
    if (values.keep) {
      process.stdout.write('\n(running until Ctrl-C)\n');
      await new Promise<void>((resolve) => process.once('SIGINT', () => { resolve(); }));
    }
    step('Done: agent stopped, broker stopped, nothing left behind');
    return 0;
  } finally {
    for (const task of cleanup) await task().catch(() => undefined);
  }
}
