// Subscription timing and matching with a fake clock: Periodic!, TimeToLive, NotifRetry back-off,
// NotifExpiration, Boot! ParameterMap, and deletions matched by a search expression.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createTestModel } from '../../helpers/model.ts';
import type { TestModel } from '../../helpers/model.ts';
import { createSubscriptionService } from '../../../src/engine/subscriptions.ts';
import type { DmObject } from '../../../src/datamodel/instances.ts';
import type { usp } from '../../../src/usp/generated/usp.js';
import { createSilentLogger } from '../../../src/log.ts';

interface Sent {
  readonly to: string;
  readonly msgId: string;
  readonly at: number;
  readonly notify: usp.Notify.$Properties;
}

function setup(t: { after: (fn: () => void) => void }) {
  const model = createTestModel();
  let now = Date.parse('2026-01-02T03:04:05Z');
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  t.after(() => { mock.timers.reset(); });
  const sent: Sent[] = [];
  const service = createSubscriptionService({
    dm: model.dm,
    send: (controller, msgId, notify) => {
      sent.push({ to: controller.path, msgId, at: now, notify });
      return true;
    },
    logger: createSilentLogger(),
    now: () => now,
    random: () => 0, // always the shortest wait of each retry window
  });
  const advance = (seconds: number): void => {
    for (let i = 0; i < seconds; i++) {
      now += 1000;
      mock.timers.tick(1000);
    }
  };
  t.after(() => { service.stop(); });
  return { model, service, sent, advance, now: () => now };
}

function subscribe(model: TestModel, controller: string, values: Record<string, string>): DmObject {
  return model.dm.update((tx) => {
    const row = tx.addRow(model.dm.table('Device.LocalAgent.Subscription.'));
    tx.setInternal(row, 'Recipient', controller);
    tx.setInternal(row, 'CreationDate', '2026-01-02T03:04:05Z');
    for (const [name, value] of Object.entries({ Enable: 'true', ...values })) tx.setParam(row, name, value, 'add');
    return row;
  });
}

test('Periodic! goes to each Controller on its own interval', (t) => {
  const { model, service, sent, advance } = setup(t);
  model.dm.update((tx) => tx.setParam(model.dm.object('Device.LocalAgent.Controller.1.'), 'PeriodicNotifInterval', '10', 'set'));
  subscribe(model, 'Device.LocalAgent.Controller.1', { NotifType: 'Event', ReferenceList: 'Device.LocalAgent.Periodic!' });
  subscribe(model, 'Device.LocalAgent.Controller.2', { NotifType: 'Event', ReferenceList: 'Device.LocalAgent.Periodic!' });
  service.start({ cause: 'LocalReboot' });
  advance(9);
  assert.equal(sent.filter((s) => s.notify.event?.eventName === 'Periodic!').length, 0);
  advance(1);
  assert.deepEqual(sent.filter((s) => s.notify.event?.eventName === 'Periodic!').map((s) => s.to), ['Device.LocalAgent.Controller.1.']);
  advance(10);
  assert.equal(sent.filter((s) => s.notify.event?.eventName === 'Periodic!').length, 2, 'Controller 2 (interval 86400 s) gets none yet');
});

test('Periodic! honours PeriodicNotifInterval and PeriodicNotifTime exactly (TP-469 1.59): on the grid, never in between', (t) => {
  const { model, service, sent, advance } = setup(t); // the clock starts at 03:04:05
  const periodic = () => sent.filter((s) => s.notify.event?.eventName === 'Periodic!').map((s) => new Date(s.at).toISOString());
  subscribe(model, 'Device.LocalAgent.Controller.1', { NotifType: 'Event', ReferenceList: 'Device.LocalAgent.Periodic!' });
  service.start({ cause: 'LocalReboot' });
  advance(200); // 03:07:25, long after start: the Controller asks for one event a minute, on the minute
  model.dm.update((tx) => {
    const controller = model.dm.object('Device.LocalAgent.Controller.1.');
    tx.setParam(controller, 'PeriodicNotifInterval', '60', 'set');
    tx.setParam(controller, 'PeriodicNotifTime', '2019-01-01T00:00:00Z', 'set');
  });
  advance(34);
  assert.deepEqual(periodic(), [], 'nothing before the first boundary (no catching up on boundaries before the change)');
  advance(1);
  assert.deepEqual(periodic(), ['2026-01-02T03:08:00.000Z']);
  advance(120);
  assert.deepEqual(periodic(), ['2026-01-02T03:08:00.000Z', '2026-01-02T03:09:00.000Z', '2026-01-02T03:10:00.000Z'], 'then every 60 s');
  // A new interval takes effect on the new grid (2019-01-01 + k·90 s), not relative to the last event.
  model.dm.update((tx) => tx.setParam(model.dm.object('Device.LocalAgent.Controller.1.'), 'PeriodicNotifInterval', '90', 'set'));
  advance(180);
  const after = periodic().slice(3);
  assert.deepEqual(after, ['2026-01-02T03:10:30.000Z', '2026-01-02T03:12:00.000Z']);
  assert.ok(after.every((at) => (Date.parse(at) - Date.parse('2019-01-01T00:00:00Z')) % 90_000 === 0));
});

test('TimeToLive removes the subscription when it runs out', (t) => {
  const { model, service, advance } = setup(t);
  const row = subscribe(model, 'Device.LocalAgent.Controller.1', { NotifType: 'ValueChange', ReferenceList: 'Device.LocalAgent.Controller.1.', TimeToLive: '5' });
  service.start({ cause: 'LocalReboot' });
  advance(4);
  assert.equal(row.deleted, false);
  advance(1);
  assert.equal(row.deleted, true);
  assert.equal(model.dm.table('Device.LocalAgent.Subscription.').rows.size, 0);
});

test('NotifRetry resends with the R-NOT.3 back-off until acknowledged; NotifExpiration ends it', (t) => {
  const { model, service, sent, advance } = setup(t);
  subscribe(model, 'Device.LocalAgent.Controller.1', { NotifType: 'ValueChange', ReferenceList: 'Device.LocalAgent.Controller.1.ProvisioningCode', NotifRetry: 'true' });
  subscribe(model, 'Device.LocalAgent.Controller.2', { NotifType: 'ValueChange', ReferenceList: 'Device.LocalAgent.Controller.2.ProvisioningCode', NotifRetry: 'true', NotifExpiration: '12' });
  service.start({ cause: 'LocalReboot' });
  const start = Date.parse('2026-01-02T03:04:05Z');
  model.dm.update((tx) => {
    tx.setParam(model.dm.object('Device.LocalAgent.Controller.1.'), 'ProvisioningCode', 'a', 'set');
    tx.setParam(model.dm.object('Device.LocalAgent.Controller.2.'), 'ProvisioningCode', 'b', 'set');
  });
  advance(40);
  const toOne = sent.filter((s) => s.to === 'Device.LocalAgent.Controller.1.');
  // m = 5 s, k = 2: waits of 5, 10, 20 s (the low end of each window with random() = 0).
  assert.deepEqual(toOne.map((s) => (s.at - start) / 1000), [0, 5, 15, 35]);
  assert.equal(new Set(toOne.map((s) => s.msgId)).size, 1, 'every retry carries the same msg_id');
  assert.equal(toOne[0]!.notify.sendResp, true);
  const toTwo = sent.filter((s) => s.to === 'Device.LocalAgent.Controller.2.');
  assert.deepEqual(toTwo.map((s) => (s.at - start) / 1000), [0, 5], 'no retry after NotifExpiration (12 s)');
  service.acknowledge(toOne[0]!.msgId);
  assert.equal(service.pendingRetries, 0);
  advance(100);
  assert.equal(sent.filter((s) => s.to === 'Device.LocalAgent.Controller.1.').length, 4);
});

test('Boot! carries each recipient\'s BootParameter values in ParameterMap', (t) => {
  const { model, service, sent } = setup(t);
  model.dm.update((tx) => {
    const row = tx.addRow(model.dm.object('Device.LocalAgent.Controller.1.').tables.get('BootParameter')!);
    tx.setParam(row, 'Enable', 'true', 'add');
    tx.setParam(row, 'ParameterName', 'Device.LocalAgent.EndpointID', 'add');
  });
  subscribe(model, 'Device.LocalAgent.Controller.1', { NotifType: 'Event', ReferenceList: 'Device.Boot!' });
  service.start({ cause: 'LocalReboot' });
  const boot = sent.find((s) => s.notify.event?.eventName === 'Boot!')!;
  assert.equal(boot.notify.event!.objPath, 'Device.');
  assert.equal(boot.notify.event!.params!['Cause'], 'LocalReboot');
  assert.deepEqual(JSON.parse(boot.notify.event!.params!['ParameterMap']!), { 'Device.LocalAgent.EndpointID': 'os::012345-TEST01' });
});

test('ObjectDeletion matches a search expression against the row as it was; nested rows are not reported to it', (t) => {
  const { model, service, sent } = setup(t);
  subscribe(model, 'Device.LocalAgent.Controller.1', { NotifType: 'ObjectDeletion', ReferenceList: 'Device.LocalAgent.Controller.[EndpointID=="proto::other"].' });
  service.start({ cause: 'LocalReboot' });
  model.dm.update((tx) => { tx.deleteRow(model.dm.object('Device.LocalAgent.Controller.2.')); });
  assert.deepEqual(sent.filter((s) => s.notify.objDeletion).map((s) => s.notify.objDeletion!.objPath), ['Device.LocalAgent.Controller.2.']);
});
