// `berth ctl` over WebSocket against a real agent process, both ways, with real TLS and USP certificates (each names
// its Endpoint ID as urn:bbf:usp:id:…): ctl dialling the agent's server (which requires client certificates), and ctl
// as the server the agent dials. With the agent's config file ctl finds the URL and the CA; its certificate is the
// Controller's own (--cert/--cert-key), and the agent's refusals (401, 403) say what to give.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDataDir, startAgentProcess, removeDataDir } from '../../helpers/agent-process.ts';
import type { AgentProcess } from '../../helpers/agent-process.ts';
import { AGENT_ID } from '../../helpers/usp-fixture.ts';
import { createTestPki, opensslAvailable } from '../../helpers/tls-certs.ts';
import type { CertificateFiles, TestPki } from '../../helpers/tls-certs.ts';
import { freePort } from '../../../src/cli/local-broker.ts';
import { runCtl } from './ctl-process.ts';
import type { CtlRun } from './ctl-process.ts';

const skip = opensslAvailable() ? undefined : 'openssl is not installed';
const DIALS = 'proto::dials-agent';
const LISTENS = 'proto::agent-dials';

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, 'localhost');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => { resolve(false); });
  });
}

async function waitForPort(port: number, what: string, output: () => string = () => ''): Promise<void> {
  for (let waited = 0; !(await portAccepts(port)); waited += 100) {
    if (waited > 20_000) throw new Error(`${what} did not listen on ${port} within 20 s\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const certificateArgs = (files: CertificateFiles): string[] => ['--cert', files.certFile, '--cert-key', files.keyFile];

describe('berth ctl over WebSocket', { skip }, () => {
  let pki: TestPki;
  let agent: AgentProcess;
  let dataDir: string | undefined;
  let agentPort: number;
  let ctlPort: number;
  let dialler: CertificateFiles;
  let ctlServer: CertificateFiles;
  /** ctl listening before the agent starts: the agent's first dial finds it. */
  let firstListen: Promise<CtlRun>;
  before(async () => {
    pki = createTestPki();
    agentPort = await freePort();
    ctlPort = await freePort();
    const agentCertificate = pki.issue('agent', { dns: ['localhost'], ips: ['127.0.0.1'], endpointIds: [AGENT_ID] });
    dialler = pki.client(DIALS);
    ctlServer = pki.issue('ctl-server', { dns: ['localhost'], ips: ['127.0.0.1'], endpointIds: [LISTENS] });
    const config = {
      endpointId: AGENT_ID,
      websocket: {
        ...agentCertificate,
        caFile: pki.caFile,
        listen: { bindAddress: '127.0.0.1', port: agentPort, path: '/usp', requireClientCertificate: true },
      },
      controllers: [
        { endpointId: DIALS, websocket: {} },
        { endpointId: LISTENS, websocket: { url: `wss://localhost:${ctlPort}/usp`, retryMinimumWaitSeconds: 1 } },
      ],
    };
    // ctl listens before the agent starts, so that the agent's first dial finds it. ctl reads the agent's config file:
    // written here as startAgentProcess writes it (it writes the same again).
    dataDir = await makeDataDir();
    const configFile = join(dataDir, 'config.json');
    await writeFile(configFile, JSON.stringify({ dataDir, log: { level: 'debug' }, ...config }, null, 2));
    firstListen = runCtl(['--config', configFile, '--controller', LISTENS, ...certificateArgs(ctlServer), '--timeout', '30', 'get', 'Device.LocalAgent.EndpointID'], { killAfterMs: 40_000 });
    await waitForPort(ctlPort, 'ctl --listen');
    agent = await startAgentProcess(config, { dataDir });
    assert.equal(agent.configFile, configFile);
    await waitForPort(agentPort, "the agent's WebSocket server", () => agent.output().slice(-3000));
  });
  after(async () => {
    await firstListen?.catch(() => undefined);
    await agent?.stop();
    if (dataDir) await removeDataDir(dataDir);
    pki?.remove();
  });

  test('dialling the agent with --config: its server\'s URL and CA from the file, the Controller\'s own certificate; get and set', async () => {
    const got = await runCtl(['--config', agent.configFile, '--controller', DIALS, ...certificateArgs(dialler), 'get', 'Device.LocalAgent.EndpointID']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, `Device.LocalAgent.EndpointID = ${AGENT_ID}\n`);
    const set = await runCtl(['--config', agent.configFile, '--controller', DIALS, ...certificateArgs(dialler), 'set', 'Device.LocalAgent.Controller.1.', 'ProvisioningCode=set-over-websocket']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'set Device.LocalAgent.Controller.1.ProvisioningCode = set-over-websocket\n');
  });

  test('dialling with flags alone (--agent-url, --ca, the certificate), and the agent\'s refusals: no certificate (401), one for another Controller (403)', async () => {
    const flags = ['--agent-url', `wss://127.0.0.1:${agentPort}/usp`, '--ca', pki.caFile, '--agent', AGENT_ID, '--controller', DIALS];
    const got = await runCtl([...flags, ...certificateArgs(dialler), 'get', 'Device.LocalAgent.Controller.1.ProvisioningCode']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, 'Device.LocalAgent.Controller.1.ProvisioningCode = set-over-websocket\n');
    const none = await runCtl([...flags, 'get', 'Device.LocalAgent.EndpointID']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, `berth: the agent at wss://127.0.0.1:${agentPort}/usp refused the WebSocket session: HTTP 401 Unauthorized: the agent wants a Controller certificate; give ctl ${DIALS}'s with --cert and --cert-key\n`);
    const other = await runCtl([...flags, ...certificateArgs(pki.client('proto::someone-else')), 'get', 'Device.LocalAgent.EndpointID']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, new RegExp(`^berth: the agent at .* refused the WebSocket session: HTTP 403 Forbidden: the agent does not admit ${DIALS} on this session \\(its certificate must name urn:bbf:usp:id:${DIALS}`));
  });

  test('--config without --cert for a server that requires client certificates is a usage error before any connection (exit 2)', async () => {
    const run = await runCtl(['--config', agent.configFile, '--controller', DIALS, 'get', 'Device.LocalAgent.EndpointID']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^berth: the agent's WebSocket server wss:\/\/127\.0\.0\.1:\d+\/usp asks Controllers for a certificate \(websocket\.listen\.requireClientCertificate in /);
  });

  test('as the server the agent dials (the Controller\'s websocket.url in --config): get, then set on the agent\'s next session', async () => {
    const got = await firstListen;
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, `Device.LocalAgent.EndpointID = ${AGENT_ID}\n`);
    const set = await runCtl(['--config', agent.configFile, '--controller', LISTENS, ...certificateArgs(ctlServer), '--timeout', '30', 'set', 'Device.LocalAgent.Controller.2.', 'ProvisioningCode=agent-dialled'], { killAfterMs: 40_000 });
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'set Device.LocalAgent.Controller.2.ProvisioningCode = agent-dialled\n');
  });

  test('--listen where no agent dials: exit 1 after --timeout, saying what to check', async () => {
    const port = await freePort();
    const run = await runCtl(['--listen', `wss://127.0.0.1:${port}/usp`, ...certificateArgs(ctlServer), '--agent', AGENT_ID, '--controller', LISTENS, '--timeout', '2', 'get', 'Device.']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^berth: the agent ${AGENT_ID} did not open a WebSocket session to wss://127\\.0\\.0\\.1:${port}/usp within 2 s: is it ${LISTENS}'s websocket url in the agent's config\\?`));
  });
});
