// What recovery removes and adopts, decided from the records and the runtime's inventory: labelled objects no
// record holds go (retained data and other people's image names stay); recorded units are adopted as they run
// and started or stopped to match what was asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adoptUnit, planCleanup, reconnectDelayMs } from '../../../src/smm/recovery-plan.ts';
import type { DeploymentRecord } from '../../../src/smm/deployment.ts';
import type { ContainerState } from '../../../src/runtime/container-runtime.ts';

const record = (name: string, version: string, extra: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  uuid: `uuid-${name}`,
  name,
  vendor: 'v',
  version,
  execEnv: 'default',
  imageId: `sha256:${name}`,
  imageName: `berth/agent/default/${name}:${version}`,
  network: `berth-default-${name}`,
  volumes: [{ name: `berth-default-${name}-data-${version}`, logical: 'data', retain: true, unit: 'main', path: '/data' }],
  units: [{ name: 'main', containerId: `c-${name}-${version}`, containerName: `berth-default-${name}-main-${version}`, autoStart: true, runLevel: 0, memoryKiB: 1, cpuPercent: 1, diskKiB: 1 }],
  ...extra,
});
const container = (id: string, status: ContainerState['status'] = 'running'): ContainerState => ({
  id, name: id, imageId: 'sha256:x', labels: {}, status, exitCode: 0, oomKilled: false, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '0001-01-01T00:00:00Z', ports: [],
});

test('planCleanup: what an interrupted operation left is removed; recorded, retained and foreign objects stay', () => {
  const app = record('app', '1.0.0');
  const noNetwork = record('quiet', '2.0.0', { network: undefined, imageName: undefined });
  const plan = planCleanup([app, noNetwork], {
    containers: [container('c-app-1.0.0'), container('c-app-2.0.0', 'created')],
    networks: [{ id: 'n1', name: 'berth-default-app' }, { id: 'n2', name: 'berth-default-gone' }],
    volumes: [{ name: 'berth-default-app-data-1.0.0' }, { name: 'berth-default-app-data-2.0.0' }, { name: 'kept-by-uninstall' }],
    images: [
      { tags: ['berth/agent/default/app:1.0.0', 'berth/agent/default/app:2.0.0'] },
      { tags: ['nginx:latest', 'berth/other-agent/default/x:1'] },
      { tags: [] },
    ],
  }, { retainedVolumes: new Set(['kept-by-uninstall']), imageNamePrefix: 'berth/agent/' });
  assert.deepEqual(plan.remove, {
    containers: ['c-app-2.0.0'],
    networks: [{ id: 'n2', name: 'berth-default-gone' }],
    volumes: ['berth-default-app-data-2.0.0'],
    imageNames: ['berth/agent/default/app:2.0.0'],
  });
  assert.deepEqual(plan.units.map((u) => [u.uuid, u.version, u.unit, u.state.id]), [['uuid-app', '1.0.0', 'main', 'c-app-1.0.0']]);
  assert.deepEqual(plan.missing, [{ uuid: 'uuid-quiet', version: '2.0.0', unit: 'main' }], 'a recorded unit whose container is gone');
  assert.deepEqual(plan.confine.map((r) => r.name), ['app'], 'only recorded networks that exist are confined again');
});

test('planCleanup: an empty runtime removes nothing; no records removes every labelled object but retained data', () => {
  const empty = planCleanup([record('app', '1.0.0')], { containers: [], networks: [], volumes: [], images: [] }, { retainedVolumes: new Set(), imageNamePrefix: 'berth/agent/' });
  assert.deepEqual(empty.remove, { containers: [], networks: [], volumes: [], imageNames: [] });
  assert.deepEqual(empty.confine, []);
  const none = planCleanup([], {
    containers: [container('c1')],
    networks: [{ id: 'n1', name: 'net' }],
    volumes: [{ name: 'v1' }, { name: 'kept' }],
    images: [{ tags: ['berth/agent/a:1'] }],
  }, { retainedVolumes: new Set(['kept']), imageNamePrefix: 'berth/agent/' });
  assert.deepEqual(none.remove, { containers: ['c1'], networks: [{ id: 'n1', name: 'net' }], volumes: ['v1'], imageNames: ['berth/agent/a:1'] });
});

test('adoptUnit: how a recorded unit is followed again and what brings it to its requested state', () => {
  const running = { status: 'running' as const, startedAt: '2026-01-01T00:00:00.000Z' };
  const exited = { status: 'exited' as const, startedAt: '2026-01-01T00:00:00.000Z' };
  const cases: { name: string; container: typeof running | typeof exited | undefined; shouldRun: boolean; confined: boolean; action: string; running: boolean; fault: string }[] = [
    { name: 'runs and should: kept as it is', container: running, shouldRun: true, confined: true, action: 'keep', running: true, fault: 'NoFault' },
    { name: 'runs but should not (Idle asked, ExecEnv disabled): stopped', container: running, shouldRun: false, confined: true, action: 'stop', running: true, fault: 'NoFault' },
    { name: 'runs on a network that cannot be confined: stopped', container: running, shouldRun: true, confined: false, action: 'stop-unconfined', running: true, fault: 'NoFault' },
    { name: 'down and should run: started', container: exited, shouldRun: true, confined: true, action: 'start', running: false, fault: 'NoFault' },
    { name: 'down, should run, network unconfined: refused', container: exited, shouldRun: true, confined: false, action: 'refuse', running: false, fault: 'NoFault' },
    { name: 'down and should not run: left down', container: exited, shouldRun: false, confined: true, action: 'keep', running: false, fault: 'NoFault' },
    { name: 'container gone: never started, UnStartable', container: undefined, shouldRun: true, confined: true, action: 'keep', running: false, fault: 'UnStartable' },
  ];
  for (const c of cases) {
    const adoption = adoptUnit(c.container, { shouldRun: c.shouldRun, confined: c.confined });
    assert.deepEqual([adoption.action, adoption.running, adoption.fault.code], [c.action, c.running, c.fault], c.name);
    assert.equal(adoption.startedAt, c.running ? Date.parse('2026-01-01T00:00:00.000Z') : undefined, c.name);
  }
  assert.match(adoptUnit(undefined, { shouldRun: true, confined: true }).fault.message, /container is gone .* reinstall/);
});

test('reconnectDelayMs: 0.5 s doubling, capped at 10 s', () => {
  assert.deepEqual([0, 1, 2, 4, 5, 100].map(reconnectDelayMs), [500, 1000, 2000, 8000, 10_000, 10_000]);
});
