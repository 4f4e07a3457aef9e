// Applies the config file to the data model: the agent's MTPs (seed-mtps.ts), the built-in roles and the
// configured Controllers. Runs at first start, and again whenever the config file's seed changes (a firmware
// update shipping a new config); otherwise the persisted data model — changed over USP — is the authority.
import { createHash } from 'node:crypto';
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject, DmTable } from '../datamodel/instances.ts';
import type { Transaction } from '../datamodel/transaction.ts';
import type { BerthConfig } from './config.ts';
import { rolesOf } from './config.ts';
import { seedAgentMtps, seedControllerMtps } from './seed-mtps.ts';
import { toDateTime } from '../usp/values.ts';
import { VENDOR_PREFIX } from '../datamodel/vendor.ts';

const ROLE_TABLE = 'Device.LocalAgent.ControllerTrust.Role.';
const CONTROLLER_TABLE = 'Device.LocalAgent.Controller.';
const EXEC_ENV_TABLE = 'Device.SoftwareModules.ExecEnv.';

/** The part of the config that seeds the data model, hashed to tell whether it changed since the last start. */
export function seedHash(config: BerthConfig): string {
  const seed = { endpointId: config.endpointId, mqtt: config.mqtt, stomp: config.stomp, websocket: config.websocket, controllers: config.controllers, execEnvs: config.execEnvs, roles: config.roles, tenants: config.tenants };
  return createHash('sha256').update(JSON.stringify(seed)).digest('hex');
}

export function applyConfig(dm: DataModel, config: BerthConfig): void {
  dm.update((tx) => {
    const agentMtps = seedAgentMtps(tx, dm, config, (obj, values) => { write(tx, obj, values); }, (table, alias, instance) => rowByAlias(tx, table, alias, instance));

    // Execution Environments: one row per configured ExecEnv (by Alias = name); rows of ExecEnvs no longer in
    // the config go. Enable is left as a Controller set it.
    const execEnvs = dm.table(EXEC_ENV_TABLE);
    const names = new Set((config.execEnvs ?? []).map((env) => env.name));
    for (const row of [...execEnvs.rows.values()]) if (!names.has(row.values.get('Alias') ?? '')) tx.deleteRow(row);
    for (const env of config.execEnvs ?? []) {
      const row = rowByAlias(tx, execEnvs, env.name);
      tx.setInternal(row, 'Name', env.name);
      tx.setInternal(row, 'AllocatedMemory', String(env.memoryKiB));
      tx.setInternal(row, 'AllocatedDiskSpace', String(env.diskKiB));
      tx.setInternal(row, 'AllocatedCPUPercent', String(Math.min(100, env.cpuPercent)));
      if (row.values.get('CreatedAt') === '0001-01-01T00:00:00Z' || !row.values.get('CreatedAt')) tx.setInternal(row, 'CreatedAt', toDateTime(new Date()));
    }

    // Controllers first (their rows' numbers go into tenant roles), then the roles, then each Controller's roles.
    const controllers = dm.table(CONTROLLER_TABLE);
    const controllerRows = config.controllers.map((controller) => {
      let row = [...controllers.rows.values()].find((r) => dm.read(r, 'EndpointID') === controller.endpointId);
      if (!row) {
        row = tx.addRow(controllers);
        tx.setParam(row, 'EndpointID', controller.endpointId, 'add');
      }
      return row;
    });
    const roles = seedRoles(tx, dm, config, controllerRows);
    config.controllers.forEach((controller, i) => {
      const row = controllerRows[i]!;
      const assigned = rolesOf(controller).map((name) => roles.byName.get(name)!);
      if (controller.tenant !== undefined) assigned.push(roles.tenants.get(controller.tenant)!);
      if (controller.secured) assigned.push(roles.secured);
      write(tx, row, { Enable: String(controller.enable), AssignedRole: assigned.map(reference).join(','), PeriodicNotifInterval: String(controller.periodicNotifInterval) });
      seedControllerMtps(tx, dm, config, controller, row, agentMtps, (obj, values) => { write(tx, obj, values); });
    });
    // The agent subscribes to each Controller's own agent topic (a Subscription row of its MQTT client, by Alias).
    const client = agentMtps.mqtt ? dm.lookup(`${dm.read(agentMtps.mqtt.objects.get('MQTT')!, 'Reference')}.`) : undefined;
    if (!client) return;
    const subscriptions = client.tables.get('Subscription')!;
    const wantedTopics = new Map(config.controllers.filter((c) => c.agentTopic !== undefined).map((c) => [`controller-${createHash('sha256').update(c.endpointId).digest('hex').slice(0, 16)}`, c.agentTopic!]));
    for (const row of [...subscriptions.rows.values()]) {
      const alias = row.values.get('Alias') ?? '';
      if (alias.startsWith('controller-') && !wantedTopics.has(alias)) tx.deleteRow(row);
    }
    for (const [alias, topic] of wantedTopics) write(tx, rowByAlias(tx, subscriptions, alias), { Topic: topic, Enable: 'true', QoS: '1' });
  });
}

/** A row reference as TR-181 stores it: 'Device.LocalAgent.ControllerTrust.Role.2'. */
function reference(row: DmObject): string {
  return row.path.slice(0, -1);
}

interface SeededRoles {
  /** Roles by the names the config uses ('full', 'untrusted' and the roles key's names). */
  readonly byName: ReadonlyMap<string, DmObject>;
  readonly tenants: ReadonlyMap<string, DmObject>;
  readonly secured: DmObject;
}

/**
 * The built-in roles (Full Access, Untrusted, Secured Values), the config's roles and one role per tenant. Rows
 * berth made from an earlier config and no longer in it go; a config role's permissions are rewritten as the
 * config says (changes made over USP to those roles are replaced, like every other seeded value).
 */
function seedRoles(tx: Transaction, dm: DataModel, config: BerthConfig, controllerRows: readonly DmObject[]): SeededRoles {
  const table = dm.table(ROLE_TABLE);
  const full = rowByAlias(tx, table, 'full');
  write(tx, full, { Name: 'Full Access', Enable: 'true' });
  permission(tx, full, { Alias: 'all', Enable: 'true', Order: '1', Targets: 'Device.', Param: 'rw-n', Obj: 'rw-n', InstantiatedObj: 'rw-n', CommandEvent: 'r-xn' });
  const untrusted = rowByAlias(tx, table, 'untrusted');
  write(tx, untrusted, { Name: 'Untrusted', Enable: 'true' });
  permission(tx, untrusted, { Alias: 'device-info', Enable: 'true', Order: '1', Targets: 'Device.DeviceInfo.', Param: 'r---', Obj: 'r---', InstantiatedObj: 'r---', CommandEvent: '----' });
  // Grants nothing itself: holding it lets a Controller read the secured values of what its other roles let it read.
  const secured = rowByAlias(tx, table, 'secured');
  write(tx, secured, { Name: 'Secured Values', Enable: 'true' });
  const trust = dm.object('Device.LocalAgent.ControllerTrust.');
  tx.setParam(trust, 'UntrustedRole', reference(untrusted), 'set');
  tx.setParam(trust, 'SecuredRoles', reference(secured), 'set');

  const wanted = new Map<string, { alias: string; permissions: PermissionValues[] }>();
  for (const role of config.roles) {
    wanted.set(role.name, {
      alias: `config-${slug(role.name)}`,
      permissions: role.permissions.map((p) => ({ Order: String(p.order), Targets: p.targets.join(','), Param: p.param, Obj: p.obj, InstantiatedObj: p.instantiatedObj, CommandEvent: p.commandEvent })),
    });
  }
  for (const tenant of config.tenants) {
    const members = config.controllers.map((c, i) => (c.tenant === tenant.name ? controllerRows[i]! : undefined)).filter((row): row is DmObject => row !== undefined);
    const envRows = tenant.execEnvs.map((name) => [...dm.table(EXEC_ENV_TABLE).rows.values()].find((row) => row.values.get('Alias') === name)!);
    wanted.set(tenantRoleName(tenant.name), { alias: `tenant-${slug(tenant.name)}`, permissions: tenantPermissions(dm, envRows, members) });
  }
  // Rows an earlier config made and this one no longer names.
  for (const row of [...table.rows.values()]) {
    const alias = row.values.get('Alias') ?? '';
    if ((alias.startsWith('config-') || alias.startsWith('tenant-')) && !wanted.has(dm.read(row, 'Name'))) tx.deleteRow(row);
  }
  const byName = new Map<string, DmObject>([['full', full], ['untrusted', untrusted]]);
  const tenants = new Map<string, DmObject>();
  for (const [name, role] of wanted) {
    const row = [...table.rows.values()].find((r) => dm.read(r, 'Name') === name) ?? rowByAlias(tx, table, role.alias);
    write(tx, row, { Name: name, Enable: 'true' });
    const permissions = row.tables.get('Permission')!;
    for (const old of [...permissions.rows.values()]) tx.deleteRow(old);
    for (const values of role.permissions) {
      const added = tx.addRow(permissions);
      write(tx, added, { Enable: 'true', ...values });
    }
    byName.set(name, row);
  }
  for (const tenant of config.tenants) tenants.set(tenant.name, byName.get(tenantRoleName(tenant.name))!);
  return { byName, tenants, secured };
}

type PermissionValues = Record<'Order' | 'Targets' | 'Param' | 'Obj' | 'InstantiatedObj' | 'CommandEvent', string>;

export function tenantRoleName(tenant: string): string {
  return `Tenant ${tenant}`;
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 56);
}

/**
 * What a tenant's Controllers may do, in standard permissions (README: Tenants): read the device's identity; use
 * the agent (its own Controller row, its own subscriptions and requests); install into its ExecEnvs (berth checks
 * InstallDU's ExecutionEnvRef itself: Obj write on the ExecEnv row) and manage the apps in them, found by search
 * paths on ExecutionEnvRef. Everything else — other tenants' apps, the MQTT client, other Controllers, roles — is
 * covered by no permission, so it is invisible and untouchable.
 */
function tenantPermissions(dm: DataModel, envRows: readonly DmObject[], members: readonly DmObject[]): PermissionValues[] {
  const rule = (order: number, targets: readonly string[], param: string, obj: string, instantiatedObj: string, commandEvent: string): PermissionValues => ({
    Order: String(order),
    Targets: targets.join(','),
    Param: param,
    Obj: obj,
    InstantiatedObj: instantiatedObj,
    CommandEvent: commandEvent,
  });
  const envRefs = envRows.map(reference);
  const rules: PermissionValues[] = [
    rule(10, ['Device.DeviceInfo.'], 'r---', 'r---', 'r---', '----'),
    // Logs of every tenant's units live here: only its own (Order 43) are its to see.
    rule(11, ['Device.DeviceInfo.VendorLogFile.', 'Device.DeviceInfo.VendorLogFileNumberOfEntries'], '----', '----', '----', '----'),
    rule(21, ['Device.LocalAgent.EndpointID', 'Device.LocalAgent.SoftwareVersion', 'Device.LocalAgent.UpTime', 'Device.LocalAgent.SupportedProtocols'], 'r---', '----', '----', '----'),
    rule(22, ['Device.LocalAgent.Subscription.'], '----', 'rw--', '----', '----'),
    rule(30, ['Device.SoftwareModules.'], '----', 'r---', '----', '----'),
    rule(31, ['Device.SoftwareModules.ExecEnvClass.'], 'r---', 'r---', 'r---', '----'),
    rule(32, ['Device.SoftwareModules.InstallDU()'], '----', '----', '----', 'r-x-'),
    rule(33, ['Device.SoftwareModules.DUStateChange!'], '----', '----', '----', 'r--n'),
  ];
  if (members.length > 0) {
    rules.push(rule(23, members.map((c) => c.path), 'r---', 'r---', 'r---', '----'));
    rules.push(rule(24, members.map((c) => `Device.LocalAgent.Subscription.[Recipient==${JSON.stringify(reference(c))}].`), 'rw-n', 'rw-n', 'rw-n', '----'));
    rules.push(rule(25, members.map((c) => `Device.LocalAgent.Request.[Originator==${JSON.stringify(dm.read(c, 'EndpointID'))}].`), 'r--n', 'r--n', 'r--n', 'r-xn'));
  }
  if (envRows.length > 0) {
    rules.push(rule(40, envRows.map((row) => row.path), 'r--n', 'rw-n', 'r--n', 'r-xn'));
    rules.push(rule(41, envRefs.map((ref) => `Device.SoftwareModules.DeploymentUnit.[ExecutionEnvRef==${JSON.stringify(ref)}].`), 'r--n', 'r--n', 'r--n', 'r-xn'));
    rules.push(rule(42, envRefs.map((ref) => `Device.SoftwareModules.ExecutionUnit.[ExecutionEnvRef==${JSON.stringify(ref)}].`), 'rw-n', 'r--n', 'r--n', 'r-xn'));
    // Its units' logs (read, Upload()), found by the ExecEnv berth records on each log row.
    rules.push(rule(43, envRefs.map((ref) => `Device.DeviceInfo.VendorLogFile.[${VENDOR_PREFIX}ExecutionEnvRef==${JSON.stringify(ref)}].`), 'r---', 'r---', 'r---', 'r-xn'));
  }
  return rules.sort((a, b) => Number(a.Order) - Number(b.Order));
}

function rowByAlias(tx: Transaction, table: DmTable, alias: string, instance?: number): DmObject {
  const existing = [...table.rows.values()].find((row) => row.values.get('Alias') === alias) ?? (instance ? table.rows.get(instance) : undefined);
  if (existing) return existing;
  const row = tx.addRow(table, instance);
  tx.setParam(row, 'Alias', alias, 'add');
  return row;
}

function permission(tx: Transaction, role: DmObject, values: Record<string, string>): void {
  const table = role.tables.get('Permission')!;
  const row = rowByAlias(tx, table, values['Alias']!);
  write(tx, row, Object.fromEntries(Object.entries(values).filter(([name]) => name !== 'Alias')));
}

/** Writes as a Controller would: on a row made in this transaction as its creation (write-once and key values allowed). */
function write(tx: Transaction, obj: DmObject, values: Record<string, string>): void {
  const mode = tx.isNew(obj.row ?? obj) ? 'add' : 'set';
  for (const [name, value] of Object.entries(values)) tx.setParam(obj, name, value, mode);
}
