// One broker + one `berth agent` process + one Controller, for integration tests. Cleans everything up.
import { startMosquitto, mosquittoAvailable } from './mosquitto.ts';
import { startAgentProcess, makeDataDir, removeDataDir } from './agent-process.ts';
import type { AgentProcess } from './agent-process.ts';
import { connectController } from '../../src/controller/controller-client.ts';
import type { ControllerClient } from '../../src/controller/controller-client.ts';

export const AGENT_ID = 'os::012345-ITEST1';
export const CONTROLLER_ID = 'proto::itest';
export const CONTROLLER_TOPIC = 'usp/controller/itest';
export const AGENT_TOPIC = `usp/agent/${AGENT_ID}`;

/** Why integration tests would be skipped here, or undefined when they can run. With CI=true they never skip. */
export function skipReason(): string | undefined {
  if (mosquittoAvailable()) return undefined;
  if (process.env['CI'] === 'true') throw new Error('Mosquitto is required for integration tests in CI: apt-get install -y mosquitto');
  return 'Mosquitto is not installed (apt-get install -y mosquitto)';
}

export interface Fixture {
  readonly brokerUrl: string;
  readonly dataDir: string;
  agent: AgentProcess;
  controller: ControllerClient;
  /** Restarts the agent on the same data dir (SIGTERM, or kill -9 with `{ kill: true }`). */
  restartAgent(options?: { kill?: boolean; config?: Record<string, unknown> }): Promise<void>;
  connectController(options?: { endpointId?: string; replyTopic?: string; mqttVersion?: 5 | 4 }): Promise<ControllerClient>;
  close(): Promise<void>;
}

/** `entry`: run this CLI (e.g. a production bundle's main.js) instead of the sources; see startAgentProcess. */
/** `mqtt`: keys merged into the agent's `mqtt` block (its url comes from the test broker). */
export async function startFixture(options: { mqttVersion?: 5 | 4; config?: Record<string, unknown>; mqtt?: Record<string, unknown>; entry?: string | undefined } = {}): Promise<Fixture> {
  const version = options.mqttVersion ?? 5;
  const broker = await startMosquitto();
  const dataDir = await makeDataDir();
  const extraControllers: ControllerClient[] = [];
  const baseConfig = (): Record<string, unknown> => ({
    endpointId: AGENT_ID,
    mqtt: { url: broker.url, version, connectRetryTime: 1, ...options.mqtt },
    controllers: [{ endpointId: CONTROLLER_ID, topic: CONTROLLER_TOPIC }],
    ...options.config,
  });
  const connect = (o: { endpointId?: string; replyTopic?: string; mqttVersion?: 5 | 4 } = {}): Promise<ControllerClient> =>
    connectController({
      brokerUrl: broker.url,
      endpointId: o.endpointId ?? CONTROLLER_ID,
      agentEndpointId: AGENT_ID,
      agentTopic: AGENT_TOPIC,
      replyTopic: o.replyTopic ?? CONTROLLER_TOPIC,
      mqttVersion: o.mqttVersion ?? version,
    });
  let controller: ControllerClient | undefined;
  let agent: AgentProcess | undefined;
  try {
    controller = await connect();
    const connected = new Promise<void>((resolve) => {
      const off = controller!.onRecord((record) => {
        if (record.recordType === 'mqttConnect') {
          off();
          resolve();
        }
      });
    });
    agent = await startAgentProcess(baseConfig(), { dataDir, entry: options.entry });
    // An agent that exits before it connects (a bad config, a crash) fails the test with its output, not a hang.
    const started = agent;
    const exited = new Promise<never>((_resolve, reject) => {
      started.child.once('exit', (code) => { reject(new Error(`the agent exited (${String(code)}) before connecting:\n${started.output().slice(-3000)}`)); });
    });
    exited.catch(() => undefined);
    await Promise.race([connected, exited]);
  } catch (error) {
    await controller?.close().catch(() => undefined);
    await agent?.kill9();
    await broker.stop();
    await removeDataDir(dataDir);
    throw error;
  }
  const fixture: Fixture = {
    brokerUrl: broker.url,
    dataDir,
    agent,
    controller,
    async restartAgent(restart = {}) {
      if (restart.kill) await fixture.agent.kill9();
      else await fixture.agent.stop();
      const connected = new Promise<void>((resolve) => {
        const off = fixture.controller.onRecord((record) => {
          if (record.recordType === 'mqttConnect') {
            off();
            resolve();
          }
        });
      });
      fixture.agent = await startAgentProcess({ ...baseConfig(), ...restart.config }, { dataDir, entry: options.entry });
      await connected;
    },
    async connectController(o) {
      const extra = await connect(o);
      extraControllers.push(extra);
      return extra;
    },
    async close() {
      for (const extra of extraControllers) await extra.close().catch(() => undefined);
      await fixture.controller.close().catch(() => undefined);
      await fixture.agent.stop().catch(() => undefined);
      await broker.stop();
      await removeDataDir(dataDir);
    },
  };
  return fixture;
}
