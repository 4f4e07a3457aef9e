// Applies the config file to the data model: the agent's MQTT client and MTP, the built-in roles and the
// configured Controllers. Runs at first start, and again whenever the config file's seed changes (a firmware
// update shipping a new config); otherwise the persisted data model — changed over USP — is the authority.
import { createHash } from 'node:crypto';
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject, DmTable } from '../datamodel/instances.ts';
import type { Transaction } from '../datamodel/transaction.ts';
import type { BerthConfig } from './config.ts';
import { agentTopicOf } from './config.ts';
import { toDateTime } from '../usp/values.ts';

export const MQTT_CLIENT = 'Device.MQTT.Client.1.';
export const AGENT_MTP = 'Device.LocalAgent.MTP.1.';
const ROLE_TABLE = 'Device.LocalAgent.ControllerTrust.Role.';
const CONTROLLER_TABLE = 'Device.LocalAgent.Controller.';
const EXEC_ENV_TABLE = 'Device.SoftwareModules.ExecEnv.';

/** The part of the config that seeds the data model, hashed to tell whether it changed since the last start. */
export function seedHash(config: BerthConfig): string {
  const seed = { endpointId: config.endpointId, mqtt: config.mqtt, controllers: config.controllers, execEnvs: config.execEnvs };
  return createHash('sha256').update(JSON.stringify(seed)).digest('hex');
}

export function applyConfig(dm: DataModel, config: BerthConfig): void {
  dm.update((tx) => {
    const url = new URL(config.mqtt.url);
    const transport = { 'mqtt:': 'TCP/IP', 'mqtts:': 'TLS', 'ws:': 'WebSocket', 'wss:': 'WebSocketTLS' }[url.protocol] ?? 'TCP/IP';
    const defaultPort = { 'mqtt:': '1883', 'mqtts:': '8883', 'ws:': '80', 'wss:': '443' }[url.protocol] ?? '1883';
    const client = rowByAlias(tx, dm.table('Device.MQTT.Client.'), 'mqtt', 1);
    write(tx, client, {
      Name: 'berth',
      Enable: 'true',
      ProtocolVersion: config.mqtt.version === 5 ? '5.0' : '3.1.1',
      BrokerAddress: url.hostname.replace(/^\[|\]$/g, ''),
      BrokerPort: url.port === '' ? defaultPort : url.port,
      TransportProtocol: transport,
      ClientID: config.mqtt.clientId ?? '',
      Username: config.mqtt.username ?? '',
      Password: config.mqtt.password ?? '',
      KeepAliveTime: String(config.mqtt.keepAliveSeconds),
      ConnectRetryTime: String(config.mqtt.connectRetryTime),
      ConnectRetryIntervalMultiplier: String(config.mqtt.connectRetryIntervalMultiplier),
      ConnectRetryMaxInterval: String(config.mqtt.connectRetryMaxInterval),
    });
    const mtp = rowByAlias(tx, dm.table('Device.LocalAgent.MTP.'), 'mqtt', 1);
    write(tx, mtp, { Enable: 'true', Protocol: 'MQTT' });
    write(tx, mtp.objects.get('MQTT')!, {
      Reference: client.path.slice(0, -1),
      ResponseTopicConfigured: agentTopicOf(config),
      PublishQoS: String(config.mqtt.publishQos),
    });

    const roles = dm.table(ROLE_TABLE);
    const full = rowByAlias(tx, roles, 'full');
    write(tx, full, { Name: 'Full Access', Enable: 'true' });
    permission(tx, full, { Alias: 'all', Enable: 'true', Order: '1', Targets: 'Device.', Param: 'rw-n', Obj: 'rw-n', InstantiatedObj: 'rw-n', CommandEvent: 'r-xn' });
    const untrusted = rowByAlias(tx, roles, 'untrusted');
    write(tx, untrusted, { Name: 'Untrusted', Enable: 'true' });
    permission(tx, untrusted, { Alias: 'device-info', Enable: 'true', Order: '1', Targets: 'Device.DeviceInfo.', Param: 'r---', Obj: 'r---', InstantiatedObj: 'r---', CommandEvent: '----' });
    tx.setParam(dm.object('Device.LocalAgent.ControllerTrust.'), 'UntrustedRole', untrusted.path.slice(0, -1), 'set');

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

    for (const controller of config.controllers) {
      const table = dm.table(CONTROLLER_TABLE);
      let row = [...table.rows.values()].find((r) => dm.read(r, 'EndpointID') === controller.endpointId);
      if (!row) {
        row = tx.addRow(table);
        tx.setParam(row, 'EndpointID', controller.endpointId, 'add');
      }
      const role = controller.role === 'full' ? full : untrusted;
      write(tx, row, { Enable: String(controller.enable), AssignedRole: role.path.slice(0, -1), PeriodicNotifInterval: String(controller.periodicNotifInterval) });
      const mtps = row.tables.get('MTP')!;
      const controllerMtp = [...mtps.rows.values()].find((m) => dm.read(m, 'Protocol') === 'MQTT') ?? tx.addRow(mtps);
      write(tx, controllerMtp, { Enable: 'true', Protocol: 'MQTT' });
      write(tx, controllerMtp.objects.get('MQTT')!, { Topic: controller.topic, AgentMTPReference: mtp.path.slice(0, -1) });
    }
  });
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
