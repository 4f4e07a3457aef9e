// The registry refuses incomplete bindings at start-up; transactions roll back exactly; snapshots restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../../src/datamodel/registry.ts';
import { defineModel } from '../../../src/datamodel/schema.ts';
import { createTestModel } from '../../helpers/model.ts';

const tiny = defineModel({
  'Device.': { params: { Name: { type: 'string' } }, commands: { 'Go()': { async: false } } },
  'Device.Thing.{i}.': { access: 'readWrite', maxRows: 10, uniqueKeys: [['Alias']], params: { Alias: { type: 'string', access: 'writeOnceReadOnly' }, Size: { type: 'unsignedInt', access: 'readWrite' } } },
});

test('freeze names every read-only parameter without a value source and every unbound command', () => {
  const registry = createRegistry(tiny, 'urn:test');
  assert.throws(() => registry.freeze(), (error: Error) => error.message.includes("'Device.Name' has no value source") && error.message.includes("'Device.Go()' has no handler"));
});

test('bindings for undeclared paths fail at once', () => {
  const registry = createRegistry(tiny, 'urn:test');
  assert.throws(() => { registry.bindObject('Device.Nope.', {}); }, /no such object is declared/);
  assert.throws(() => { registry.bindObject('Device.', { get: { Missing: () => '' } }); }, /no such parameter is declared/);
  assert.throws(() => { registry.bindCommand('Device.Stop()', () => ({})); }, /no such command is declared/);
});

test('a declaration whose parent is missing is refused', () => {
  assert.throws(() => createRegistry(defineModel({ 'Device.': {}, 'Device.A.B.': {} }), 'urn:test'), /parent object 'Device.A.' is not declared/);
});

test('a table Controllers can add to must bound its rows; immutable keys must be unique keys', () => {
  assert.throws(() => createRegistry(defineModel({ 'Device.': {}, 'Device.T.{i}.': { access: 'readWrite', params: { A: { type: 'string', access: 'readWrite' } } } }), 'urn:test'), /'Device.T.{i}.': a table Controllers can add to needs maxRows/);
  assert.throws(
    () => createRegistry(defineModel({ 'Device.': {}, 'Device.T.{i}.': { access: 'readWrite', maxRows: 1, immutableKeys: ['A'], params: { A: { type: 'string', access: 'readWrite' } } } }), 'urn:test'),
    /immutable key 'A' is not part of a unique key/,
  );
});

test('rollback restores values, added rows and deleted rows exactly', () => {
  const { dm } = createTestModel();
  const controllers = dm.table('Device.LocalAgent.Controller.');
  const before = JSON.stringify(dm.snapshot());
  const tx = dm.begin({ originator: undefined });
  tx.setParam(dm.object('Device.LocalAgent.Controller.1.'), 'ProvisioningCode', 'changed', 'set');
  const added = tx.addRow(controllers);
  tx.deleteRow(dm.object('Device.LocalAgent.Controller.2.'));
  assert.equal(dm.lookup('Device.LocalAgent.Controller.2.'), undefined);
  assert.equal(dm.lookup(added.path), added);
  tx.rollback();
  assert.equal(JSON.stringify(dm.snapshot()), before);
  assert.equal(dm.lookup(added.path), undefined);
  assert.deepEqual([...controllers.rows.keys()], [1, 2]);
  assert.equal(controllers.nextInstance, 3, 'instance numbers handed out in a rolled-back transaction are reused');
});

test('snapshot and restore keep instance numbers and values; non-persistent rows are left out', () => {
  const first = createTestModel();
  first.dm.update((tx) => {
    const table = first.dm.table('Device.LocalAgent.Subscription.');
    const keep = tx.addRow(table);
    tx.setParam(keep, 'Persistent', 'true', 'add');
    tx.setParam(keep, 'NotifType', 'Event', 'add');
    tx.setParam(keep, 'ReferenceList', 'Device.Boot!', 'add');
    tx.addRow(table); // not persistent
    tx.deleteRow(first.dm.object('Device.LocalAgent.Controller.1.'));
  });
  const snapshot = JSON.parse(JSON.stringify(first.dm.snapshot()));
  const second = createTestModel();
  second.dm.update((tx) => { tx.deleteRow(second.dm.object('Device.LocalAgent.Controller.1.')); });
  second.dm.update((tx) => { tx.deleteRow(second.dm.object('Device.LocalAgent.Controller.2.')); });
  second.dm.restore(snapshot);
  assert.deepEqual([...second.dm.table('Device.LocalAgent.Controller.').rows.keys()], [2]);
  assert.deepEqual([...second.dm.table('Device.LocalAgent.Subscription.').rows.keys()], [1]);
  assert.equal(second.dm.get('Device.LocalAgent.Subscription.1.', 'ReferenceList'), 'Device.Boot!');
  assert.equal(second.dm.table('Device.LocalAgent.Subscription.').nextInstance, 3, 'instance numbers are never reused after a restart');
});

test('listeners hear committed changes once, and nothing from rolled-back ones', () => {
  const { dm } = createTestModel();
  const heard: string[] = [];
  dm.addListener({
    valueChanged: (obj, name, value) => heard.push(`${obj.path}${name}=${value}`),
    objectCreated: (row) => heard.push(`+${row.path}`),
    objectDeleted: (row) => heard.push(`-${row.path}`),
  });
  const tx = dm.begin({ originator: undefined });
  tx.setParam(dm.object('Device.LocalAgent.Controller.1.'), 'ProvisioningCode', 'x', 'set');
  tx.rollback();
  dm.update((t) => {
    t.setParam(dm.object('Device.LocalAgent.Controller.1.'), 'ProvisioningCode', 'a', 'set');
    t.setParam(dm.object('Device.LocalAgent.Controller.1.'), 'ProvisioningCode', 'b', 'set');
    t.setParam(dm.object('Device.LocalAgent.Controller.2.'), 'ProvisioningCode', '', 'set'); // unchanged: no event
    t.addRow(dm.table('Device.LocalAgent.Controller.'));
  });
  dm.update((t) => { t.deleteRow(dm.object('Device.LocalAgent.Controller.2.')); });
  assert.deepEqual(heard, ['+Device.LocalAgent.Controller.3.', 'Device.LocalAgent.Controller.1.ProvisioningCode=b', '-Device.LocalAgent.Controller.2.', '-Device.LocalAgent.Controller.2.MTP.1.']);
});
