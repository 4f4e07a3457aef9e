// The ControllerTrust rules as a table: one role set-up and the permission a Controller then has on one element.
// Each case builds a fresh data model with the roles it names, assigns them to the Controller and asks the
// access control what it may do (the same object the engine asks for every message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestModel, CONTROLLER_ID, testConfig } from '../../helpers/model.ts';
import { formatBits } from '../../../src/access/permission-bits.ts';
import type { Column } from '../../../src/access/permission-bits.ts';

interface PermissionRow {
  order: number;
  targets: string;
  param?: string;
  obj?: string;
  inst?: string;
  ce?: string;
  enable?: boolean;
}
interface Case {
  name: string;
  roles: PermissionRow[][];
  /** Which of `roles` are assigned (default all); 'inherited' puts them in InheritedRole instead. */
  assign?: 'assigned' | 'inherited' | 'none';
  disabledRole?: number;
  element: { path: string; column: Column; name?: string; supported?: boolean };
  expect: string;
}

const cases: Case[] = [
  {
    name: 'one partial path covers everything below it',
    roles: [[{ order: 1, targets: 'Device.', param: 'rw-n' }]],
    element: { path: 'Device.LocalAgent.', column: 'Param', name: 'EndpointID' },
    expect: 'rw-n',
  },
  {
    name: 'a higher Order wins on overlap (TR-369: hide ControllerTrust from a full-access role)',
    roles: [[{ order: 1, targets: 'Device.', param: 'rw-n' }, { order: 2, targets: 'Device.LocalAgent.ControllerTrust.', param: '----' }]],
    element: { path: 'Device.LocalAgent.ControllerTrust.', column: 'Param', name: 'UntrustedRole' },
    expect: '----',
  },
  {
    name: 'the winning row decides all four characters: nothing is inherited from a lower row',
    roles: [[{ order: 1, targets: 'Device.', param: 'rw-n' }, { order: 2, targets: 'Device.LocalAgent.Controller.*.PeriodicNotifInterval', param: 'r---' }]],
    element: { path: 'Device.LocalAgent.Controller.1.', column: 'Param', name: 'PeriodicNotifInterval' },
    expect: 'r---',
  },
  {
    name: 'a lower-Order parameter target does not beat a higher-Order partial path',
    roles: [[{ order: 5, targets: 'Device.', param: '----' }, { order: 1, targets: 'Device.LocalAgent.EndpointID', param: 'r---' }]],
    element: { path: 'Device.LocalAgent.', column: 'Param', name: 'EndpointID' },
    expect: '----',
  },
  {
    name: 'a parameter target covers only that parameter',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.EndpointID', param: 'r---' }]],
    element: { path: 'Device.LocalAgent.', column: 'Param', name: 'SoftwareVersion' },
    expect: '----',
  },
  {
    name: 'several roles are OR-ed after each picks its row (TR-369 example: A gives r-xn, B gives ---- ⇒ r-xn)',
    roles: [
      [{ order: 3, targets: 'Device.LocalAgent', param: 'r---' }, { order: 55, targets: 'Device.LocalAgent.Controller', param: 'r-xn' }],
      [{ order: 20, targets: 'Device.LocalAgent', param: 'r---' }, { order: 78, targets: 'Device.LocalAgent.Controller', param: '----' }],
    ],
    element: { path: 'Device.LocalAgent.Controller.1.', column: 'Param', name: 'Enable' },
    expect: 'r-xn',
  },
  {
    name: 'partial paths without the trailing dot are partial paths (as in TR-369 examples)',
    roles: [[{ order: 1, targets: 'Device.LocalAgent', obj: 'r---' }]],
    element: { path: 'Device.LocalAgent.Subscription.', column: 'Obj' },
    expect: 'r---',
  },
  {
    name: 'an instance path covers that row',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.Controller.2.', inst: 'rw--' }]],
    element: { path: 'Device.LocalAgent.Controller.2.', column: 'InstantiatedObj' },
    expect: 'rw--',
  },
  {
    name: '...and not another row',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.Controller.2.', inst: 'rw--' }]],
    element: { path: 'Device.LocalAgent.Controller.1.', column: 'InstantiatedObj' },
    expect: '----',
  },
  {
    name: 'a search path covers the rows it matches now',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.Controller.[EndpointID=="proto::other"].', param: 'r---' }]],
    element: { path: 'Device.LocalAgent.Controller.2.', column: 'Param', name: 'Enable' },
    expect: 'r---',
  },
  {
    name: '...and not the rows it does not match',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.Controller.[EndpointID=="proto::other"].', param: 'r---' }]],
    element: { path: 'Device.LocalAgent.Controller.1.', column: 'Param', name: 'Enable' },
    expect: '----',
  },
  {
    name: 'a search path does not cover the table itself (Obj on the table is for Add)',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.Controller.[EndpointID=="proto::other"].', obj: 'rw--' }]],
    element: { path: 'Device.LocalAgent.Controller.', column: 'Obj' },
    expect: '----',
  },
  {
    name: 'in the supported data model an instance selector matches {i} (GetSupportedDM shows what some row allows)',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.Controller.[EndpointID=="proto::other"].', param: 'r---' }]],
    element: { path: 'Device.LocalAgent.Controller.{i}.', column: 'Param', name: 'Enable', supported: true },
    expect: 'r---',
  },
  {
    name: 'commands and events are matched with their suffix',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.Controller.*.SendOnBoardRequest()', ce: 'r-x-' }]],
    element: { path: 'Device.LocalAgent.Controller.1.', column: 'CommandEvent', name: 'SendOnBoardRequest()' },
    expect: 'r-x-',
  },
  {
    name: 'a disabled Permission row grants nothing',
    roles: [[{ order: 1, targets: 'Device.', param: 'rw-n', enable: false }]],
    element: { path: 'Device.LocalAgent.', column: 'Param', name: 'EndpointID' },
    expect: '----',
  },
  {
    name: 'a disabled role grants nothing',
    roles: [[{ order: 1, targets: 'Device.', param: 'rw-n' }]],
    disabledRole: 0,
    element: { path: 'Device.LocalAgent.', column: 'Param', name: 'EndpointID' },
    expect: '----',
  },
  {
    name: 'InheritedRole counts like AssignedRole',
    roles: [[{ order: 1, targets: 'Device.LocalAgent.', param: 'r---' }]],
    assign: 'inherited',
    element: { path: 'Device.LocalAgent.', column: 'Param', name: 'EndpointID' },
    expect: 'r---',
  },
  {
    name: 'with no role of its own a Controller gets the UntrustedRole (device info only)',
    roles: [[{ order: 1, targets: 'Device.', param: 'rw-n' }]],
    assign: 'none',
    element: { path: 'Device.DeviceInfo.', column: 'Param', name: 'Manufacturer' },
    expect: 'r---',
  },
  {
    name: '...and nothing else',
    roles: [[{ order: 1, targets: 'Device.', param: 'rw-n' }]],
    assign: 'none',
    element: { path: 'Device.LocalAgent.', column: 'Param', name: 'EndpointID' },
    expect: '----',
  },
];

for (const c of cases) {
  test(`permission rules: ${c.name}`, () => {
    const model = createTestModel(testConfig());
    const { dm } = model;
    const refs: string[] = [];
    dm.update((tx) => {
      c.roles.forEach((permissions, i) => {
        const role = tx.addRow(dm.table('Device.LocalAgent.ControllerTrust.Role.'));
        tx.setParam(role, 'Name', `case role ${i}`, 'add');
        tx.setParam(role, 'Enable', String(c.disabledRole !== i), 'add');
        for (const p of permissions) {
          const row = tx.addRow(role.tables.get('Permission')!);
          tx.setParam(row, 'Enable', String(p.enable ?? true), 'add');
          tx.setParam(row, 'Order', String(p.order), 'add');
          tx.setParam(row, 'Targets', p.targets, 'add');
          tx.setParam(row, 'Param', p.param ?? '----', 'add');
          tx.setParam(row, 'Obj', p.obj ?? '----', 'add');
          tx.setParam(row, 'InstantiatedObj', p.inst ?? '----', 'add');
          tx.setParam(row, 'CommandEvent', p.ce ?? '----', 'add');
          tx.validate(row);
        }
        refs.push(role.path.slice(0, -1));
      });
      const controller = [...dm.table('Device.LocalAgent.Controller.').rows.values()].find((row) => dm.read(row, 'EndpointID') === CONTROLLER_ID)!;
      const assign = c.assign ?? 'assigned';
      tx.setParam(controller, 'AssignedRole', assign === 'assigned' ? refs.join(',') : '', 'set');
      if (assign === 'inherited') tx.setInternal(controller, 'InheritedRole', refs.join(','));
    });
    const access = model.ctx(CONTROLLER_ID).access;
    const { path, column, name, supported } = c.element;
    let bits: number;
    if (supported) bits = access.supportedBits(path, column, name);
    else {
      const node = dm.lookup(path) ?? dm.lookupTable(path);
      assert.ok(node, `${path} exists in the test model`);
      if (column === 'Param') bits = access.paramBits(node as never, name!);
      else if (column === 'CommandEvent') bits = access.commandEventBits(node as never, name!);
      else if (column === 'InstantiatedObj') bits = access.instanceBits(node as never);
      else bits = access.objectBits(node);
    }
    assert.equal(formatBits(bits), c.expect);
  });
}

test('permission rules: a Targets entry naming nothing in the data model is refused when written (7012)', () => {
  const model = createTestModel(testConfig());
  const { dm } = model;
  assert.throws(
    () => { dm.update((tx) => {
        const role = dm.table('Device.LocalAgent.ControllerTrust.Role.').rows.values().next().value!;
        const row = tx.addRow(role.tables.get('Permission')!);
        tx.setParam(row, 'Order', '77', 'add');
        tx.setParam(row, 'Targets', 'Device.LocalAgent.Controler.', 'add');
        tx.validate(row);
      }); },
    (error: Error & { uspErrorCode?: number }) => error.uspErrorCode === 7012 && /Controler\. is not in the supported data model/.test(error.message),
  );
});

test('permission rules: a permission has at most 32 Targets entries (7012 beyond)', () => {
  const model = createTestModel(testConfig());
  const { dm } = model;
  const many = Array.from({ length: 33 }, (_, i) => `Device.LocalAgent.Controller.${i + 1}.`).join(',');
  assert.throws(
    () => { dm.update((tx) => {
        const role = dm.table('Device.LocalAgent.ControllerTrust.Role.').rows.values().next().value!;
        const row = tx.addRow(role.tables.get('Permission')!);
        tx.setParam(row, 'Order', '78', 'add');
        tx.setParam(row, 'Targets', many, 'add');
        tx.validate(row);
      }); },
    (error: Error & { uspErrorCode?: number }) => error.uspErrorCode === 7012 && /33 entries; a permission has at most 32/.test(error.message),
  );
});
