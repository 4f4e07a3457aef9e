// Apps kept apart, on the real Docker Engine with berth's firewall rules: a unit in ExecEnv A cannot open a TCP
// connection to a unit in ExecEnv B, nor to the gateway itself (listeners on 0.0.0.0 and on A's bridge gateway,
// reached through any of the host's addresses); units of one app reach each other; a unit whose manifest asks for
// the LAN and whose ExecEnv allows it reaches a LAN device (a network namespace behind a veth pair, routed by the
// host like a real LAN), one without that egress does not; units run as nobody unless their manifest says
// otherwise. A container on a plain Docker network reaches the same host listener: the denials are berth's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerRuntime } from '../../../src/runtime/docker-runtime.ts';
import { parsePackageManifest } from '../../../src/catalog/package/manifest.ts';
import { createDeployment, removeDeployment } from '../../../src/smm/deployment.ts';
import type { DeploymentRecord, ExecEnvPolicy } from '../../../src/smm/deployment.ts';
import { DEFAULT_EXEC_ENV_ISOLATION } from '../../../src/smm/exec-env-policy.ts';
import { writeProbeImage } from '../../helpers/probe-image.ts';
import { removeImageNamesOf } from '../../helpers/berth-images.ts';

const ci = process.env['CI'] === 'true';
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const ipWorks = spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0;
const skip = (!dockerWorks || !ipWorks) && !ci ? 'needs a running Docker Engine and iproute2 (ip netns), as root' : false;

const RUN = Math.random().toString(36).slice(2, 8);
const OWNER = `os::test-isolation-${RUN}`;
const LAN_OCTET = 1 + Math.floor(Math.random() * 250);
const LAN = { subnet: `10.213.${LAN_OCTET}.0/24`, host: `10.213.${LAN_OCTET}.1`, device: `10.213.${LAN_OCTET}.2`, netns: `berth-lan-${RUN}`, veth: `bl${RUN}` };

const run = (command: string, ...args: string[]): string => {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
};

/** Asynchronously: the host's listeners live in this process and must answer while the command runs. */
function docker(...args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('docker', args, { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' }, (_error, stdout) => {
      resolve(stdout.trim());
    });
  });
}

/** What a TCP connection from inside the container gets: the peer's greeting, or '' when it cannot connect. */
const connect = (containerId: string, host: string, port: number): Promise<string> => docker('exec', containerId, 'nc', '-w', '2', host, String(port));

function greeter(reply: string, host: string): Promise<Server> {
  const server = createServer((socket) => socket.end(`${reply}\n`));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => { resolve(server); });
  });
}
const portOf = (server: Server): number => (server.address() as { port: number }).port;

function manifest(name: string, units: Record<string, unknown>[]) {
  return parsePackageManifest({
    name,
    vendor: 'isolation.test',
    version: '1.0.0',
    requires: { berth: '>=0.1.0' },
    executionUnits: units.map((unit) => ({ command: ['/bin/sleep', '1000'], resources: { memoryKiB: 8192, cpuPercent: 5, diskKiB: 1024 }, ...unit })),
    image: { file: 'image.tar', size: 1, sha256: '0'.repeat(64) },
  });
}

test('apps are kept apart: no other ExecEnv, no gateway service; the LAN only where declared and allowed; not root', { skip, timeout: 180_000 }, async () => {
  assert.ok(dockerWorks && ipWorks, 'CI needs a running Docker Engine and iproute2 (.ci/run installs both)');
  const runtime = createDockerRuntime();
  const work = await mkdtemp(join(tmpdir(), 'berth-isolation-'));
  const records: DeploymentRecord[] = [];
  const servers: Server[] = [];
  let lanDevice: ChildProcess | undefined;
  const plainNetwork = `berth-test-plain-${RUN}`;
  const policy = (name: string, network: Partial<ExecEnvPolicy['network']> = {}): ExecEnvPolicy => ({
    name,
    owner: OWNER,
    allowedCapabilities: [],
    ...DEFAULT_EXEC_ENV_ISOLATION,
    network: { ...DEFAULT_EXEC_ENV_ISOLATION.network, ...network },
  });
  try {
    // The LAN device: its own network namespace, reached from the host through a veth pair, answering "lan".
    run('ip', 'netns', 'add', LAN.netns);
    run('ip', 'link', 'add', `${LAN.veth}h`, 'type', 'veth', 'peer', 'name', `${LAN.veth}n`);
    run('ip', 'link', 'set', `${LAN.veth}n`, 'netns', LAN.netns);
    run('ip', 'addr', 'add', `${LAN.host}/24`, 'dev', `${LAN.veth}h`);
    run('ip', 'link', 'set', `${LAN.veth}h`, 'up');
    run('ip', 'netns', 'exec', LAN.netns, 'ip', 'addr', 'add', `${LAN.device}/24`, 'dev', `${LAN.veth}n`);
    run('ip', 'netns', 'exec', LAN.netns, 'ip', 'link', 'set', `${LAN.veth}n`, 'up');
    // A fresh namespace: any port is free there.
    const lanPort = 4700;
    const device = spawn('ip', ['netns', 'exec', LAN.netns, process.execPath, '-e', `require('net').createServer((s) => s.end('lan\\n')).listen(${lanPort}, () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    lanDevice = device;
    await new Promise<void>((resolve, reject) => {
      device.once('exit', (code) => { reject(new Error(`the LAN device exited (${code})`)); });
      device.stdout.once('data', () => { resolve(); });
    });

    const image = await writeProbeImage(join(work, 'probe.tar'));
    const openImage = () => createReadStream(image.path);
    const envA = `iso-a-${RUN}`;
    const envB = `iso-b-${RUN}`;
    const a = await createDeployment(runtime, {
      uuid: '0a0a0a0a-0000-5000-8000-000000000000',
      manifest: manifest('probe', [{ name: 'probe', network: { mode: 'isolated', egress: ['lan'] } }]),
      openImage,
      policy: policy(envA, { egress: ['lan'], lanSubnets: [LAN.subnet] }),
    });
    records.push(a);
    const b = await createDeployment(runtime, {
      uuid: '0b0b0b0b-0000-5000-8000-000000000000',
      manifest: manifest('server', [
        { name: 'server', command: ['/bin/sh', '-c', 'while true; do echo b | nc -l -p 8080; done'], network: { mode: 'isolated' } },
        { name: 'peer', network: { mode: 'isolated' } },
      ]),
      openImage,
      policy: policy(envB),
    });
    records.push(b);
    for (const unit of [...a.units, ...b.units]) await runtime.startContainer(unit.containerId);
    const [probe, server, peer] = [a.units[0]!.containerId, b.units[0]!.containerId, b.units[1]!.containerId];
    const addressOf = (id: string): { ip: string; gateway: string } => {
      const [ip = '', gateway = ''] = run('docker', 'inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.Gateway}}{{end}}', id).split(' ');
      return { ip, gateway };
    };
    const { gateway } = addressOf(probe);
    const serverIp = addressOf(server).ip;

    const anywhere = await greeter('host', '0.0.0.0');
    const onGateway = await greeter('host', gateway);
    servers.push(anywhere, onGateway);
    const dockerBridge = run('docker', 'network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'bridge');
    const hostAddresses = Object.values(networkInterfaces()).flat().filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal).map((i) => i!.address);
    assert.ok(hostAddresses.includes(gateway) && hostAddresses.includes(LAN.host));

    // Control: a container on a plain Docker network reaches the host's listener. Without berth's rules, so would A.
    run('docker', 'network', 'create', '--label', `io.berth.test=${RUN}`, plainNetwork);
    const plainGateway = run('docker', 'network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', plainNetwork);
    assert.equal(await docker('run', '--rm', '--network', plainNetwork, a.imageId, 'nc', '-w', '2', plainGateway, String(portOf(anywhere))), 'host');

    assert.equal(await connect(peer, serverIp, 8080), 'b', 'units of one app reach each other');
    assert.equal(await connect(probe, serverIp, 8080), '', "ExecEnv A's unit does not reach ExecEnv B's");
    for (const address of new Set([gateway, dockerBridge, ...hostAddresses])) {
      assert.equal(await connect(probe, address, portOf(anywhere)), '', `the gateway's listener on 0.0.0.0 is out of reach at ${address}`);
    }
    assert.equal(await connect(probe, gateway, portOf(onGateway)), '', "the listener on A's own bridge gateway is out of reach");
    assert.equal(await connect(probe, LAN.device, lanPort), 'lan', "A's unit asked for the LAN, A allows it: it reaches the LAN device");
    assert.equal(await connect(peer, LAN.device, lanPort), '', 'a unit without LAN egress does not');

    assert.equal(run('docker', 'exec', probe, 'id', '-u'), '65534', 'a unit runs as nobody by default, not root');
    assert.equal(run('docker', 'exec', probe, 'id', '-g'), '65534');

    for (const record of records.splice(0)) await removeDeployment(runtime, record, { retainData: false });
    const rules = ['BERTH-INPUT', 'BERTH-FORWARD'].map((chain) => run('iptables', '-w', '-S', chain)).join('\n');
    assert.doesNotMatch(rules, new RegExp(RUN), 'the apps\' firewall rules went with their networks');
  } finally {
    for (const record of records) await removeDeployment(runtime, record, { retainData: false }).catch(() => undefined);
    spawnSync('docker', ['network', 'rm', plainNetwork], { stdio: 'ignore' });
    for (const server of servers) server.close();
    lanDevice?.kill();
    spawnSync('ip', ['netns', 'del', LAN.netns], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', `${LAN.veth}h`], { stdio: 'ignore' });
    await removeImageNamesOf(runtime, OWNER);
    await rm(work, { recursive: true, force: true });
  }
});
