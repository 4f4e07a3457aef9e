// Reconciliation by label on the real Docker Engine: recorded deployments are adopted as they are (a running
// app keeps running), what an interrupted install left is removed (its image name too), retained data is kept,
// a vanished container is reported, firewall rules a reboot lost come back and those of networks that are gone
// go — and another agent's objects are never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDockerRuntime } from '../../../src/runtime/docker-runtime.ts';
import { buildSampleRelease, findStaticBusybox } from '../../../src/catalog/samples/sample-apps.ts';
import { readPackageFile } from '../../../src/catalog/package/package-reader.ts';
import { createDeployment, removeDeployment } from '../../../src/smm/deployment.ts';
import { reconcile } from '../../../src/smm/reconcile.ts';
import { DEFAULT_EXEC_ENV_ISOLATION } from '../../../src/smm/exec-env-policy.ts';
import { removeImageNamesOf } from '../../helpers/berth-images.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ci = process.env['CI'] === 'true';
const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const RUN = Math.random().toString(36).slice(2, 8);

/** berth's rules of one network, as `iptables -S` shows them. */
function rulesOf(network: string): string[] {
  return ['BERTH-INPUT', 'BERTH-FORWARD'].flatMap((chain) => spawnSync('iptables', ['-w', '-S', chain], { encoding: 'utf8' }).stdout.split('\n').filter((line) => line.includes(`"berth:${network}"`)));
}

function iptablesRestore(lines: string[]): void {
  const result = spawnSync('iptables-restore', ['-w', '--noflush'], { input: ['*filter', ...lines, 'COMMIT', ''].join('\n'), encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
}

const imageNames = (): string[] => spawnSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).stdout.split('\n');

test('reconcile: adopt recorded deployments, remove leftovers, keep retained data and other agents\' objects', { skip: !dockerWorks && !ci ? 'Docker Engine not running' : false }, async () => {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const runtime = createDockerRuntime();
  const work = await mkdtemp(join(tmpdir(), 'berth-reconcile-'));
  const me = `os::me-${RUN}`;
  const other = `os::other-${RUN}`;
  const made: Awaited<ReturnType<typeof createDeployment>>[] = [];
  const egressOf = () => ({ allow: [], deny: [], others: false });
  try {
    const built = await buildSampleRelease({ catalogSourceDir: join(root, 'catalog'), app: 'parental-control', manifestFile: 'app.json', outDir: work, busybox: findStaticBusybox() });
    const { manifest } = await readPackageFile(built.packagePath, { workDir: join(work, 'unpacked'), maxUnpackedBytes: 1e9 });
    const deploy = async (env: string, owner: string, uuid: string, port: number) => {
      const record = await createDeployment(runtime, {
        uuid,
        manifest: { ...manifest, executionUnits: manifest.executionUnits.map((eu) => ({ ...eu, network: { mode: 'published' as const, ports: [{ container: 8080, host: port, protocol: 'tcp' as const }], egress: [] } })) },
        openImage: () => createReadStream(built.imagePath),
        policy: { name: env, owner, allowedCapabilities: [], ...DEFAULT_EXEC_ENV_ISOLATION },
      });
      made.push(record);
      return record;
    };
    const kept = await deploy(`keep-${RUN}`, me, '11111111-1111-5111-8111-111111111111', 18091);
    await runtime.startContainer(kept.units[0]!.containerId);
    const interrupted = await deploy(`lost-${RUN}`, me, '22222222-2222-5222-8222-222222222222', 18092);
    const foreign = await deploy(`other-${RUN}`, other, '33333333-3333-5333-8333-333333333333', 18093);
    const retained = `berth-gone-${RUN}-data`;
    await runtime.createVolume(retained, { 'io.berth.managed': 'true', 'io.berth.owner': me });

    // A reboot empties the host's firewall (here: kept's rules are deleted); a network removed by hand leaves rules.
    const keptRules = rulesOf(kept.network!);
    assert.equal(keptRules.length, 5, 'input: replies, drop; forward: own network, replies, drop');
    iptablesRestore(keptRules.map((rule) => rule.replace(/^-A /, '-D ')));
    const gone = `berth-gone-${RUN}`;
    iptablesRestore([`-A BERTH-INPUT -i br-${RUN}000000 -m comment --comment "berth:${gone}" -j DROP`]);

    // After a "crash", only `kept` is in the agent's records; `interrupted` was mid-install.
    const result = await reconcile(runtime, me, [kept], { retainedVolumes: new Set([retained]), egressOf });
    assert.deepEqual(result.units.map((u) => [u.unit, u.state.status]), [['filter', 'running']], 'the running app is adopted and keeps running');
    assert.deepEqual(result.removed.containers, [interrupted.units[0]!.containerId]);
    assert.deepEqual(result.removed.networks, [interrupted.network]);
    assert.deepEqual(result.removed.volumes, [interrupted.volumes[0]!.name]);
    assert.deepEqual(result.removed.imageNames, [interrupted.imageName], "the interrupted install's image name goes, the others stay");
    // (Rules of other agents' vanished networks on this host may go too: they are garbage whoever left them.)
    assert.ok(result.removed.networkRules.includes(gone), JSON.stringify(result.removed.networkRules));
    assert.deepEqual(rulesOf(kept.network!), keptRules, "kept's network is confined again");
    assert.deepEqual(rulesOf(interrupted.network!), [], 'the removed network took its rules with it');
    assert.deepEqual(rulesOf(gone), []);
    assert.ok(imageNames().includes(kept.imageName!) && imageNames().includes(foreign.imageName!));
    assert.equal(result.missing.length, 0);
    assert.ok((await runtime.listVolumes(`io.berth.owner=${me}`)).some((v) => v.name === retained), 'retained data stays');
    assert.equal((await runtime.listContainers(`io.berth.owner=${other}`)).length, 1, "another agent's container is untouched");
    assert.equal((await runtime.inspectContainer(kept.units[0]!.containerId))!.status, 'running');

    // A container removed behind berth's back is reported, not silently recreated.
    await runtime.removeContainer(kept.units[0]!.containerId);
    const again = await reconcile(runtime, me, [kept], { retainedVolumes: new Set([retained]), egressOf });
    assert.deepEqual(again.missing, [{ uuid: kept.uuid, version: '1.0.0', unit: 'filter' }]);
    await runtime.removeVolume(retained);
    await removeDeployment(runtime, foreign, { retainData: false });
    await removeDeployment(runtime, kept, { retainData: false });
  } finally {
    for (const owner of [me, other]) {
      const label = `io.berth.owner=${owner}`;
      for (const c of await runtime.listContainers(label)) await runtime.removeContainer(c.id).catch(() => undefined);
      for (const v of await runtime.listVolumes(label)) await runtime.removeVolume(v.name).catch(() => undefined);
      for (const n of await runtime.listNetworks(label)) await runtime.removeNetwork(n.id).catch(() => undefined);
    }
    for (const owner of [me, other]) await removeImageNamesOf(runtime, owner);
    await rm(work, { recursive: true, force: true });
  }
});
