// Seeds the MTP rows from the config: the agent's MQTT client (alias "mqtt"), STOMP connection ("stomp") and
// WebSocket server ("websocket") with their LocalAgent.MTP rows of the same aliases, and each configured
// Controller's MTP rows. An MTP the config no longer has is removed (its seeded rows only: rows added over USP stay).
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject, DmTable } from '../datamodel/instances.ts';
import type { Transaction } from '../datamodel/transaction.ts';
import type { BerthConfig, ControllerConfig } from './config.ts';
import { agentDestinationOf, agentTopicOf, controllerProtocols } from './config.ts';
import { AGENT_TOPIC_PARAM } from '../mtp/mqtt-sender-binding.ts';

export const MQTT_CLIENT_ALIAS = 'mqtt';
export const STOMP_CONNECTION_ALIAS = 'stomp';
export const WEBSOCKET_MTP_ALIAS = 'websocket';

/** The agent MTP rows the config made, by protocol. */
export interface SeededAgentMtps {
  readonly mqtt?: DmObject;
  readonly stomp?: DmObject;
  readonly stompConnection?: DmObject;
}

type Write = (obj: DmObject, values: Record<string, string>) => void;
type RowByAlias = (table: DmTable, alias: string, instance?: number) => DmObject;

/** A row reference as TR-181 stores it: 'Device.MQTT.Client.1'. */
export function reference(row: DmObject): string {
  return row.path.slice(0, -1);
}

export function seedAgentMtps(tx: Transaction, dm: DataModel, config: BerthConfig, write: Write, rowByAlias: RowByAlias): SeededAgentMtps {
  const agentMtps = dm.table('Device.LocalAgent.MTP.');
  const drop = (table: DmTable, alias: string): void => {
    for (const row of [...table.rows.values()]) if (row.values.get('Alias') === alias) tx.deleteRow(row);
  };
  let mqtt: DmObject | undefined;
  if (config.mqtt) {
    const url = new URL(config.mqtt.url);
    const transport = { 'mqtt:': 'TCP/IP', 'mqtts:': 'TLS', 'ws:': 'WebSocket', 'wss:': 'WebSocketTLS' }[url.protocol] ?? 'TCP/IP';
    const defaultPort = { 'mqtt:': '1883', 'mqtts:': '8883', 'ws:': '80', 'wss:': '443' }[url.protocol] ?? '1883';
    const client = rowByAlias(dm.table('Device.MQTT.Client.'), MQTT_CLIENT_ALIAS, 1);
    write(client, {
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
    mqtt = rowByAlias(agentMtps, MQTT_CLIENT_ALIAS, 1);
    write(mqtt, { Enable: 'true', Protocol: 'MQTT' });
    write(mqtt.objects.get('MQTT')!, { Reference: reference(client), ResponseTopicConfigured: agentTopicOf(config), PublishQoS: String(config.mqtt.publishQos) });
  } else {
    drop(agentMtps, MQTT_CLIENT_ALIAS);
    drop(dm.table('Device.MQTT.Client.'), MQTT_CLIENT_ALIAS);
  }

  let stomp: DmObject | undefined;
  let stompConnection: DmObject | undefined;
  if (config.stomp) {
    const url = new URL(config.stomp.url);
    const tls = url.protocol === 'stomps:';
    stompConnection = rowByAlias(dm.table('Device.STOMP.Connection.'), STOMP_CONNECTION_ALIAS);
    write(stompConnection, {
      Enable: 'true',
      Host: url.hostname.replace(/^\[|\]$/g, ''),
      Port: url.port === '' ? (tls ? '61614' : '61613') : url.port,
      Username: config.stomp.username ?? '',
      Password: config.stomp.password ?? '',
      VirtualHost: config.stomp.virtualHost ?? '',
      EnableHeartbeats: String(config.stomp.heartbeat !== undefined),
      OutgoingHeartbeat: String(config.stomp.heartbeat?.outgoingMs ?? 0),
      IncomingHeartbeat: String(config.stomp.heartbeat?.incomingMs ?? 0),
      ServerRetryInitialInterval: String(config.stomp.retryInitialSeconds),
      ServerRetryIntervalMultiplier: String(config.stomp.retryIntervalMultiplier),
      ServerRetryMaxInterval: String(config.stomp.retryMaxSeconds),
      EnableEncryption: String(tls),
    });
    stomp = rowByAlias(agentMtps, STOMP_CONNECTION_ALIAS);
    write(stomp, { Enable: 'true', Protocol: 'STOMP' });
    write(stomp.objects.get('STOMP')!, { Reference: reference(stompConnection), Destination: agentDestinationOf(config) });
  } else {
    drop(agentMtps, STOMP_CONNECTION_ALIAS);
    drop(dm.table('Device.STOMP.Connection.'), STOMP_CONNECTION_ALIAS);
  }

  const listen = config.websocket?.listen;
  if (listen) {
    const server = rowByAlias(agentMtps, WEBSOCKET_MTP_ALIAS);
    write(server, { Enable: 'true', Protocol: 'WebSocket' });
    write(server.objects.get('WebSocket')!, {
      Port: String(listen.port),
      Path: listen.path,
      EnableEncryption: String(listen.encryption),
      KeepAliveInterval: String(config.websocket!.keepAliveSeconds),
    });
  } else {
    drop(agentMtps, WEBSOCKET_MTP_ALIAS);
  }
  return { ...(mqtt && { mqtt }), ...(stomp && { stomp }), ...(stompConnection && { stompConnection }) };
}

/**
 * A configured Controller's MTP rows: one per protocol it has (Order as its `order` key says), rows of protocols
 * it no longer has removed.
 */
export function seedControllerMtps(tx: Transaction, dm: DataModel, config: BerthConfig, controller: ControllerConfig, row: DmObject, agent: SeededAgentMtps, write: Write): void {
  const table = row.tables.get('MTP')!;
  const protocols = controllerProtocols(controller);
  for (const mtp of [...table.rows.values()]) if (!(protocols as string[]).includes(dm.read(mtp, 'Protocol'))) tx.deleteRow(mtp);
  protocols.forEach((protocol, i) => {
    const mtp = [...table.rows.values()].find((m) => dm.read(m, 'Protocol') === protocol) ?? tx.addRow(table);
    write(mtp, { Enable: 'true', Protocol: protocol, Order: String(i + 1) });
    if (protocol === 'MQTT') {
      write(mtp.objects.get('MQTT')!, { Topic: controller.topic!, AgentMTPReference: agent.mqtt ? reference(agent.mqtt) : '', [AGENT_TOPIC_PARAM]: controller.agentTopic ?? '' });
    } else if (protocol === 'STOMP') {
      write(mtp.objects.get('STOMP')!, { Destination: controller.stomp!.destination, Reference: agent.stompConnection ? reference(agent.stompConnection) : '' });
    } else {
      const ws = controller.websocket!;
      const url = ws.url === undefined ? undefined : new URL(ws.url);
      const tls = url?.protocol === 'wss:';
      write(mtp.objects.get('WebSocket')!, {
        Host: url ? url.hostname.replace(/^\[|\]$/g, '') : '',
        Port: url ? (url.port === '' ? (tls ? '443' : '80') : url.port) : '443',
        Path: url ? `${url.pathname}${url.search}` : '',
        EnableEncryption: String(url ? tls : true),
        KeepAliveInterval: String(ws.keepAliveSeconds ?? config.websocket?.keepAliveSeconds ?? 60),
        SessionRetryMinimumWaitInterval: String(ws.retryMinimumWaitSeconds),
        SessionRetryIntervalMultiplier: String(ws.retryIntervalMultiplier),
      });
    }
  });
}
