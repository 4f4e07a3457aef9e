// Software Module Management end to end: Mosquitto + a `berth agent` process on the real Docker Engine + the
// sample catalog + a Controller subscribed to DUStateChange!. Helpers speak USP the way an operator's Controller
// would; cleanup removes everything labelled with the agent's Endpoint ID, even when a test fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { removeFirewallRules } from './firewall.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFixture, AGENT_ID } from './usp-fixture.ts';
import type { Fixture } from './usp-fixture.ts';
import { startSampleCatalog } from '../../src/catalog/samples/sample-catalog.ts';
import type { SampleCatalog } from '../../src/catalog/samples/sample-catalog.ts';
import type { ControllerClient } from '../../src/controller/controller-client.ts';
import type { usp } from '../../src/usp/generated/usp.ts';
import { imageNamePrefixOf } from '../../src/smm/deployment.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;

/** Why Docker tests would be skipped here (never in CI: there a missing Docker fails the test). */
export function dockerSkipReason(): string | false {
  if (dockerWorks) return false;
  if (process.env['CI'] === 'true') return false;
  return 'Docker Engine not running (npm test starts it when run as root)';
}

export interface SmmFixture {
  fx: Fixture;
  catalog: SampleCatalog;
  /** The sample catalog's repository folder (to tamper with stored packages). */
  catalogDir: string;
  packageUrl(appAtVersion: string): string;
  controller: ControllerClient;
  /** Operate and return the OperateResp result (reqObjPath, output args or cmd_failure). */
  operate(command: string, inputArgs?: Record<string, string>, commandKey?: string): Promise<usp.OperateResp.OperationResult.$Properties>;
  /** Waits for the next DUStateChange! matching `match` and returns its arguments. */
  nextDuStateChange(match?: (args: Record<string, string>) => boolean, timeoutMs?: number): Promise<Record<string, string>>;
  /** One object's parameters (path ends with '.'). */
  params(path: string): Promise<Record<string, string>>;
  /** Polls `path` until `param` satisfies `ok`; returns the object's parameters. */
  waitFor(path: string, param: string, ok: (value: string) => boolean, timeoutMs?: number): Promise<Record<string, string>>;
  /** Labelled Docker objects of this agent still present. */
  leftovers(): { containers: string[]; volumes: string[]; networks: string[] };
  /** The agent's own image names (`berth/<agent>/…`) still present. */
  imageNames(): string[];
  close(): Promise<void>;
}

const docker = (...args: string[]): string[] => {
  const result = spawnSync('docker', args, { encoding: 'utf8' });
  return result.stdout.split('\n').filter((line) => line.trim() !== '');
};

const imageNamesOfAgent = (): string[] => docker('images', '--format', '{{.Repository}}:{{.Tag}}').filter((name) => name.startsWith(imageNamePrefixOf(AGENT_ID)));

/** Removes every container, volume and network of this test agent, and its image names (the images go with them). */
export function removeAgentObjects(): void {
  const label = `label=io.berth.owner=${AGENT_ID}`;
  const containers = docker('ps', '-aq', '--filter', label);
  if (containers.length > 0) docker('rm', '-f', ...containers);
  const volumes = docker('volume', 'ls', '-q', '--filter', label);
  if (volumes.length > 0) docker('volume', 'rm', '-f', ...volumes);
  const networks = docker('network', 'ls', '--format', '{{.Name}}', '--filter', label);
  if (networks.length > 0) docker('network', 'rm', ...networks);
  removeFirewallRules(networks);
  const names = imageNamesOfAgent();
  if (names.length > 0) docker('rmi', ...names);
}

/**
 * A proxy in front of the catalog that sends packages (/targets/) at `bytesPerSecond`, so a test can act while a
 * download is under way. Metadata passes at full speed.
 */
async function startThrottlingProxy(target: string, bytesPerSecond: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${target}${req.url ?? '/'}`);
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (!req.url?.startsWith('/targets/')) {
        res.end(body);
        return;
      }
      const chunk = Math.max(1024, Math.floor(bytesPerSecond / 10));
      for (let offset = 0; offset < body.length && !res.destroyed; offset += chunk) {
        res.write(body.subarray(offset, offset + chunk));
        await new Promise((r) => setTimeout(r, 100));
      }
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address !== 'string');
  return { url: `http://127.0.0.1:${address.port}`, server };
}

export async function startSmmFixture(options: { config?: Record<string, unknown>; throttleTargetsBytesPerSecond?: number; entry?: string | undefined } = {}): Promise<SmmFixture> {
  assert.ok(dockerWorks, 'these tests need a running Docker Engine (npm test and .ci/run start dockerd)');
  removeAgentObjects();
  const work = await mkdtemp(join(tmpdir(), 'berth-smm-'));
  const catalog = await startSampleCatalog({ dir: join(work, 'samples'), catalogSourceDir: join(root, 'catalog') });
  const proxy = options.throttleTargetsBytesPerSecond ? await startThrottlingProxy(catalog.url, options.throttleTargetsBytesPerSecond) : undefined;
  const catalogUrl = proxy?.url ?? catalog.url;
  let fx: Fixture | undefined;
  try {
    fx = await startFixture({
      config: {
        catalog: { url: catalogUrl, root: catalog.rootFile },
        execEnvs: [
          { name: 'apps', memoryKiB: 262_144, cpuPercent: 50, diskKiB: 2_097_152 },
          { name: 'tiny', memoryKiB: 8192, cpuPercent: 10, diskKiB: 1_048_576 },
        ],
        smm: { updateProbationSeconds: 3, installProbationSeconds: 2, sampleIntervalSeconds: 1 },
        ...options.config,
      },
      entry: options.entry,
    });
  } catch (error) {
    proxy?.server.close();
    await catalog.close();
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  const fixture = fx;
  const subscribe = async (controller: ControllerClient): Promise<void> => {
    await controller.request({
      add: {
        allowPartial: false,
        createObjs: [
          {
            objPath: 'Device.LocalAgent.Subscription.',
            paramSettings: Object.entries({ Enable: 'true', NotifType: 'Event', ReferenceList: 'Device.SoftwareModules.DUStateChange!', Persistent: 'true' }).map(([param, value]) => ({ param, value, required: true })),
          },
        ],
      },
    });
  };
  await subscribe(fixture.controller);
  const smm: SmmFixture = {
    fx: fixture,
    catalog,
    catalogDir: join(work, 'samples', 'catalog'),
    get controller() {
      return fixture.controller;
    },
    packageUrl(appAtVersion) {
      const url = catalog.packages.get(appAtVersion);
      assert.ok(url, `the sample catalog has no ${appAtVersion}`);
      return url.replace(catalog.url, catalogUrl);
    },
    async operate(command, inputArgs = {}, commandKey = '') {
      const resp = await fixture.controller.request({ operate: { command, commandKey, sendResp: true, inputArgs } }, { timeoutMs: 30_000 });
      return resp.operateResp!.operationResults![0]!;
    },
    async nextDuStateChange(match = () => true, timeoutMs = 90_000) {
      const notify = await fixture.controller.nextNotify((n) => n.event?.eventName === 'DUStateChange!' && match(n.event.params ?? {}), timeoutMs);
      return notify.event!.params!;
    },
    async params(path) {
      const resp = await fixture.controller.get([path], 1);
      const result = resp.reqPathResults![0]!;
      assert.equal(result.errCode ?? 0, 0, `Get ${path}: ${result.errMsg ?? ''}`);
      return result.resolvedPathResults!.find((r) => r.resolvedPath === path)?.resultParams ?? {};
    },
    async waitFor(path, param, ok, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Record<string, string> = {};
      while (Date.now() < deadline) {
        last = await smm.params(path);
        if (last[param] !== undefined && ok(last[param])) return last;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.fail(`${path}${param} did not become as expected within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    },
    leftovers() {
      const label = `label=io.berth.owner=${AGENT_ID}`;
      return { containers: docker('ps', '-aq', '--filter', label), volumes: docker('volume', 'ls', '-q', '--filter', label), networks: docker('network', 'ls', '-q', '--filter', label) };
    },
    imageNames: imageNamesOfAgent,
    async close() {
      await fixture.close().catch(() => undefined);
      proxy?.server.closeAllConnections();
      proxy?.server.close();
      await catalog.close().catch(() => undefined);
      removeAgentObjects();
      await rm(work, { recursive: true, force: true });
    },
  };
  return smm;
}
