// Where the agent keeps the broker password, as a real process: state.json holds it in clear (README "Secrets"), so
// the data folder is 0700 and the file 0600 even when the agent starts under umask 000, and modes found wider at
// start are narrowed with a log line. Controllers read the password back as "".
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import { makeDataDir, removeDataDir, startAgentProcess } from '../../helpers/agent-process.ts';
import type { AgentProcess } from '../../helpers/agent-process.ts';
import { skipReason, AGENT_ID, AGENT_TOPIC, CONTROLLER_ID, CONTROLLER_TOPIC } from '../../helpers/usp-fixture.ts';
import { connectController } from '../../../src/controller/controller-client.ts';

const skip = skipReason();
const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('secrets at rest', { skip }, () => {
  test('under umask 000 the agent makes its data folder 0700 and state.json 0600; wider modes are narrowed at the next start and logged', async (t) => {
    const users = [{ username: 'gw', password: 'broker-secret' }, { username: 'ctl', password: 'ctl-pass' }];
    const broker = await startMosquitto({ users });
    t.after(() => broker.stop());
    // The helper's folder holds the config file; the agent creates its data folder itself, inside.
    const base = await makeDataDir();
    t.after(() => removeDataDir(base));
    const dataDir = join(base, 'state');
    const stateFile = join(dataDir, 'state.json');
    const config = {
      endpointId: AGENT_ID,
      dataDir,
      mqtt: { url: broker.url, username: 'gw', password: 'broker-secret', connectRetryTime: 1 },
      controllers: [{ endpointId: CONTROLLER_ID, topic: CONTROLLER_TOPIC }],
    };
    const controller = await connectController({ brokerUrl: broker.url, endpointId: CONTROLLER_ID, agentEndpointId: AGENT_ID, agentTopic: AGENT_TOPIC, replyTopic: CONTROLLER_TOPIC, username: 'ctl', password: 'ctl-pass' });
    t.after(() => controller.close());
    let agent: AgentProcess | undefined;
    t.after(async () => { await agent?.stop(); });

    const umask = process.umask(0);
    try {
      agent = await startAgentProcess(config, { dataDir: base });
    } finally {
      process.umask(umask);
    }
    await agent.waitForLog('"status":"Connected"');
    assert.equal(await modeOf(dataDir), 0o700, 'data folder');
    assert.equal(await modeOf(stateFile), 0o600, 'state file');
    assert.match(await readFile(stateFile, 'utf8'), /"Password": "broker-secret"/, 'the password is in state.json, in clear, as the README says');
    assert.match(agent.output(), /the config file holds mqtt\.password and other users may read it: chmod 600 it/, 'the config file was written 0666');
    const read = await controller.get(['Device.MQTT.Client.1.Password']);
    assert.equal(read.reqPathResults![0]!.resolvedPathResults![0]!.resultParams!['Password'], '', 'a secured parameter reads back as ""');
    await agent.stop();

    await chmod(dataDir, 0o755);
    await chmod(stateFile, 0o644);
    await chmod(agent.configFile, 0o600);
    agent = await startAgentProcess(config, { dataDir: base });
    await agent.waitForLog('"status":"Connected"');
    assert.deepEqual([await modeOf(dataDir), await modeOf(stateFile)], [0o700, 0o600]);
    const narrowed = agent.output().split('\n').filter((line) => line.includes('it holds secrets in clear'));
    assert.equal(narrowed.length, 2, agent.output());
    assert.match(narrowed[0]!, new RegExp(`"path":"${dataDir}","from":"0755","to":"0700"`));
    assert.match(narrowed[1]!, new RegExp(`"path":"${stateFile}","from":"0644","to":"0600"`));
    assert.doesNotMatch(agent.output(), /other users may read it/, 'a 0600 config file is not warned about');
  });
});
