// The MTP manager: runs the agent's MTPs as the data model describes them, and routes Records between them and the
// engine. Each enabled LocalAgent.MTP.{i} row is one running MTP (an MQTT client, a STOMP connection or the
// WebSocket server); each enabled Controller.{i}.MTP.{j} WebSocket row with a Host is one WebSocket client dialling
// that Controller. When those rows (or the MQTT.Client / STOMP.Connection rows they reference) change over USP,
// `changed()` rebuilds exactly the MTPs whose settings changed; the others keep their connections.
//
// Inbound Records reach the engine with an origin that answers on the same MTP, connection and address (the
// engine never sees topics or sessions). Agent-originated Records go to the Controller's MTPs in Order through the
// outbox, which falls back to the next and queues while all are down. Connect Records go out on every (re)connect.
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { ArrivedRecord, ControllerTransport, OutboundKind, RecordOrigin, ReplyRoute } from '../engine/transport.ts';
import { buildDisconnectRecord, buildMqttConnectRecord, buildStompConnectRecord, buildWebSocketConnectRecord, encodeRecord } from '../usp/codec.ts';
import type { Logger } from '../log.ts';
import type { MqttMtp, MqttMtpEvents, MqttMtpOptions } from './mqtt.ts';
import { createMqttStats } from './mqtt-stats.ts';
import type { MqttStats, MqttStatsValues } from './mqtt-stats.ts';
import type { SubscriptionStatus } from './mqtt-subscriptions.ts';
import { senderBindingProblem } from './mqtt-sender-binding.ts';
import type {
  InboundRecord,
  MtpStatus,
  StompConnectionStatus,
  StompMtp,
  StompMtpEvents,
  StompMtpOptions,
  WebSocketClientEvents,
  WebSocketClientMtp,
  WebSocketClientOptions,
  WebSocketPeer,
  WebSocketServerEvents,
  WebSocketServerMtp,
  WebSocketServerOptions,
} from './mtp.ts';
import { createOutbox } from './outbox.ts';
import type { Channel } from './outbox.ts';
import { AGENT_MTP_TABLE, CONTROLLER_TABLE, controllerByEndpoint, controllerMtps, raw, referenced } from './mtp-rows.ts';
import { mqttMtpOptions, mqttRetry, mqttSubscriptionRows, stompMtpOptions, webSocketClientOptions, webSocketServerOptions } from './mtp-options.ts';
import type { MtpLocalSettings } from './mtp-options.ts';

export type { MtpLocalSettings } from './mtp-options.ts';
import type { ControllerMtp } from './mtp-rows.ts';

/** Builds the MTP adapters: the real ones by default (default-mtp-factory.ts), others in tests or OEM builds. */
export interface MtpFactory {
  /** Loads what building an MTP of this protocol needs; awaited before the first one is built. */
  prepare?(protocol: 'MQTT' | 'STOMP' | 'WebSocket'): Promise<void>;
  mqtt(options: MqttMtpOptions, events: MqttMtpEvents, logger: Logger): MqttMtp;
  stomp(options: StompMtpOptions, events: StompMtpEvents, logger: Logger): StompMtp;
  webSocketClient(options: WebSocketClientOptions, events: WebSocketClientEvents, logger: Logger): WebSocketClientMtp;
  webSocketServer(options: WebSocketServerOptions, events: WebSocketServerEvents, logger: Logger): WebSocketServerMtp;
}


export interface MtpManagerOptions {
  readonly dm: DataModel;
  readonly endpointId: string;
  readonly factory: MtpFactory;
  readonly local: MtpLocalSettings;
  readonly logger: Logger;
  /** The engine's entry point. */
  onRecord(record: ArrivedRecord): void;
}

export interface MtpManager extends ControllerTransport {
  start(): void;
  stop(): Promise<void>;
  /** MTP rows changed: rebuild what differs, once, soon (several writes of one Set are one rebuild). */
  changed(): void;
  /** MQTT.Client.{i}.ForceReconnect() (the client row) / Controller.{i}.MTP.{j}.WebSocket.Reset() (its WebSocket object). */
  reconnect(row: DmObject): void;
  /** An MQTT client's parameters were written; `newBroker`: its Stats start again (TR-181). */
  mqttClientChanged(client: DmObject, newBroker: boolean): void;
  /** The Subscription table or back-off of an MQTT client changed: applied without reconnecting. */
  mqttLiveSettingsChanged(client: DmObject): void;
  agentMtpStatus(row: DmObject): 'Up' | 'Down' | 'Error';
  mqttClientStatus(client: DmObject): MtpStatus;
  mqttStats(client: DmObject): MqttStatsValues;
  mqttSubscriptionStatus(client: DmObject, topic: string): SubscriptionStatus;
  responseTopicDiscovered(agentMtp: DmObject): string;
  destinationFromServer(agentMtp: DmObject): string;
  stompStatus(connection: DmObject): StompConnectionStatus;
  /** When the connection's Status last changed (ms since the epoch, 0: never). */
  stompLastChange(connection: DmObject): number;
  stompIsEncrypted(connection: DmObject): boolean;
  webSocketRetryCount(controllerMtp: DmObject): number;
  /** Up when any MTP is connected (the WebSocket server: listening). */
  readonly anyUp: boolean;
  /** When a Record last went out or came in (ms since the epoch, 0: never). */
  readonly lastActivityAt: number;
}

interface Runner {
  readonly key: string;
  readonly fingerprint: string;
  readonly protocol: 'MQTT' | 'STOMP' | 'WebSocket';
  status: MtpStatus;
  /** Says goodbye (R-MTP.7: a DisconnectRecord to each Controller it carried), then closes. */
  stop(): Promise<void>;
}
/** Controllers an MQTT or STOMP MTP sent its Connect Record to, and where: they get the DisconnectRecord. */
type Greeted = Map<string, string>;
interface MqttRunner extends Runner {
  readonly protocol: 'MQTT';
  readonly greeted: Greeted;
  readonly clientPath: string;
  readonly mtp: MqttMtp;
  discovered: string;
}
interface StompRunner extends Runner {
  readonly protocol: 'STOMP';
  readonly greeted: Greeted;
  readonly connectionPath: string;
  readonly mtp: StompMtp;
  stompStatus: StompConnectionStatus;
  fromServer: string;
}
interface ServerRunner extends Runner {
  readonly protocol: 'WebSocket';
  readonly server: WebSocketServerMtp;
}
interface ClientRunner extends Runner {
  readonly protocol: 'WebSocket';
  readonly controllerId: string;
  readonly client: WebSocketClientMtp;
}

/** A runner to build: its settings' fingerprint (unchanged = keep the running one) and how to build it. */
interface Wanted {
  readonly key: string;
  readonly protocol: 'MQTT' | 'STOMP' | 'WebSocket';
  readonly fingerprint: string;
  build(): Runner;
}

const UP_STATUS = 'Connected';
/** How long a DisconnectRecord may take before the MTP is closed anyway. */
const FAREWELL_MS = 1000;
/** Writes in one Set arrive as several change callbacks: rebuild once after them. */
const REBUILD_DELAY_MS = 50;

export function createMtpManager(options: MtpManagerOptions): MtpManager {
  const { dm, endpointId, factory, local, logger } = options;
  const outbox = createOutbox(logger.child({ component: 'outbox' }));
  const agentRunners = new Map<string, MqttRunner | StompRunner | ServerRunner>();
  const clientRunners = new Map<string, ClientRunner>();
  /** Open sessions of the WebSocket server(s): peer Endpoint ID → the server row's path. */
  const serverSessions = new Map<string, string>();
  const mqttStats = new Map<string, MqttStats>();
  const stompChanges = new Map<string, number>();
  let lastActivityAt = 0;
  let running = false;
  let rebuildTimer: NodeJS.Timeout | undefined;
  let rebuilding: Promise<void> = Promise.resolve();
  const restartKeys = new Set<string>();
  /** MQTT clients whose Stats start again once their old connection is closed (its last packets still count there). */
  const statsToReset = new Set<string>();
  const resetStatsIfDue = (clientPath: string): void => {
    if (statsToReset.delete(clientPath)) statsOf(clientPath).reset();
  };

  const statsOf = (clientPath: string): MqttStats => {
    let stats = mqttStats.get(clientPath);
    if (!stats) mqttStats.set(clientPath, (stats = createMqttStats()));
    return stats;
  };
  const notify = (obj: DmObject | undefined, name: string): void => {
    if (obj) dm.notifyValueChange(obj, name);
  };
  const deliver = (record: ArrivedRecord): void => {
    lastActivityAt = Date.now();
    options.onRecord(record);
  };
  const sent = (): void => {
    lastActivityAt = Date.now();
  };

  // ---- channels: one MTP and one address on it --------------------------------------------------------------
  const brokerChannel = (agentMtpPath: string, address: string, label: string): Channel => ({
    key: `${label} ${agentMtpPath} → ${address}`,
    up: () => agentRunners.get(agentMtpPath)?.status === UP_STATUS,
    async send(bytes, kind) {
      const runner = agentRunners.get(agentMtpPath);
      if (!runner || runner.protocol === 'WebSocket') throw new Error(`${agentMtpPath} is not running`);
      await runner.mtp.send(address, bytes, kind);
      sent();
    },
  });
  /** A Controller's WebSocket session, whichever side opened it (R-WS.4: one per pair of Endpoints). */
  const sessionChannel = (controllerId: string, controllerMtpPath: string | undefined): Channel => {
    const client = (): ClientRunner | undefined => {
      const runner = controllerMtpPath === undefined ? undefined : clientRunners.get(controllerMtpPath);
      return runner?.status === UP_STATUS ? runner : undefined;
    };
    const server = (): WebSocketServerMtp | undefined => {
      const path = serverSessions.get(controllerId);
      const runner = path === undefined ? undefined : agentRunners.get(path);
      return runner?.protocol === 'WebSocket' && runner.server.hasSession(controllerId) ? runner.server : undefined;
    };
    return {
      key: `WebSocket session with ${controllerId}`,
      up: () => client() !== undefined || server() !== undefined,
      async send(bytes) {
        const viaClient = client();
        if (viaClient) await viaClient.client.send(bytes);
        else {
          const viaServer = server();
          if (!viaServer) throw new Error(`no WebSocket session with ${controllerId}`);
          await viaServer.send(controllerId, bytes);
        }
        sent();
      },
    };
  };
  const channelOf = (controller: DmObject, mtp: ControllerMtp): Channel => {
    switch (mtp.protocol) {
      case 'MQTT':
        return brokerChannel(mtp.agentMtp.path, mtp.topic, 'MQTT');
      case 'STOMP':
        return brokerChannel(mtp.agentMtp.path, mtp.destination, 'STOMP');
      case 'WebSocket':
        return sessionChannel(dm.read(controller, 'EndpointID'), mtp.dials ? mtp.row.path : undefined);
    }
  };
  const routeOn = (channel: Channel, maxRecordBytes: () => number): ReplyRoute => ({
    send: (bytes, kind) => { outbox.toChannel(channel, bytes, kind); },
    get maxRecordBytes() {
      return maxRecordBytes();
    },
  });

  // ---- origins: where a Record came from, and how to answer it ----------------------------------------------
  /**
   * MQTT and STOMP: the answer goes to the Controller's configured address on this MTP. R-MQTT.26 says the request's
   * reply-to, and berth follows it when it is that address; a different one is not trusted, since any client of the
   * broker can put a Controller's Endpoint ID in from_id and name its own topic to read the answer. A Controller with
   * no configured address here (added over USP without an MTP row) is answered on its reply-to.
   */
  const brokerOrigin = (runner: MqttRunner | StompRunner, agentMtpPath: string, record: InboundRecord): RecordOrigin => ({
    description: `${runner.protocol} ${record.arrivedOn ?? ''}`,
    refusal: (controller) =>
      runner.protocol === 'MQTT' ? senderBindingProblem(dm, dm.table(CONTROLLER_TABLE).rows.values(), controller, record.arrivedOn) : undefined,
    replyRoute(controller) {
      const configured = controllerMtps(dm, controller).find((m) => m.protocol === runner.protocol && m.agentMtp.path === agentMtpPath);
      const address = configured ? (configured.protocol === 'MQTT' ? configured.topic : configured.protocol === 'STOMP' ? configured.destination : undefined) : record.replyTo;
      if (address === undefined) return undefined;
      if (configured && record.replyTo !== undefined && record.replyTo !== address) {
        logger.warn({ from: dm.read(controller, 'EndpointID'), replyTo: record.replyTo, configured: address }, "answering on the Controller's configured address, not the request's reply-to");
      }
      const channel = brokerChannel(agentMtpPath, address, runner.protocol);
      return routeOn(channel, () => {
        const current = agentRunners.get(agentMtpPath);
        return current && current.protocol !== 'WebSocket' ? current.mtp.maxRecordBytes : runner.mtp.maxRecordBytes;
      });
    },
  });
  /** WebSocket: the session is the Controller's own; only its Endpoint ID may speak on it. */
  const sessionOrigin = (peerId: string, description: string, channel: Channel, maxRecordBytes: () => number): RecordOrigin => ({
    description,
    refusal: (controller) => {
      const claimed = dm.read(controller, 'EndpointID');
      return claimed === peerId ? undefined : `this WebSocket session belongs to ${peerId}, not ${claimed}`;
    },
    replyRoute: () => routeOn(channel, maxRecordBytes),
  });

  // ---- connect records (R-MTP.6) -----------------------------------------------------------------------------
  const enabledControllers = (): DmObject[] => [...dm.table(CONTROLLER_TABLE).rows.values()].filter((c) => dm.read(c, 'Enable') === 'true');
  const sendConnectRecords = (agentMtpPath: string, greeted: Greeted, build: (toId: string) => Uint8Array): void => {
    greeted.clear();
    for (const controller of enabledControllers()) {
      for (const mtp of controllerMtps(dm, controller)) {
        if (mtp.protocol === 'WebSocket' || mtp.agentMtp.path !== agentMtpPath) continue;
        const toId = dm.read(controller, 'EndpointID');
        greeted.set(toId, mtp.protocol === 'MQTT' ? mtp.topic : mtp.destination);
        outbox.toChannel(channelOf(controller, mtp), build(toId), 'connect');
      }
    }
    outbox.flush();
  };
  const disconnectRecord = (toId: string): Uint8Array =>
    encodeRecord(buildDisconnectRecord({ toId, fromId: endpointId, reason: 'the agent is closing this MTP connection', reasonCode: 0 }));
  /** R-MTP.7 (SHOULD): a DisconnectRecord before closing, sent directly (never queued), given at most FAREWELL_MS. */
  const farewell = async (sends: readonly (() => Promise<void>)[]): Promise<void> => {
    if (sends.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, FAREWELL_MS); });
    await Promise.race([Promise.allSettled(sends.map((send) => send())), late]);
    clearTimeout(timer);
  };
  const farewellBroker = (runner: MqttRunner | StompRunner, mtp: { send(address: string, bytes: Uint8Array, kind: OutboundKind): Promise<void> }): Promise<void> =>
    runner.status !== UP_STATUS ? Promise.resolve() : farewell([...runner.greeted].map(([toId, address]) => () => mtp.send(address, disconnectRecord(toId), 'connect')));
  const sendSessionConnectRecord = (controllerId: string, channel: Channel): void => {
    outbox.toChannel(channel, encodeRecord(buildWebSocketConnectRecord({ toId: controllerId, fromId: endpointId })), 'connect');
    outbox.flush();
  };

  // ---- building runners from rows ---------------------------------------------------------------------------

  const setAgentStatus = (runner: Runner, row: string, status: MtpStatus, extra?: () => void): void => {
    if (runner.status === status) return;
    runner.status = status;
    extra?.();
    notify(dm.lookup(row), 'Status');
    if (status === UP_STATUS) outbox.flush();
  };

  /**
   * The enabled row an agent MTP's `<object>.Reference` names in `table`, claimed for it (one agent MTP per MQTT client
   * or STOMP connection: two would fight over one connection); else why the MTP cannot run.
   */
  const claimReference = (row: DmObject, object: 'MQTT' | 'STOMP', table: string, claimed: Set<string>): DmObject | string => {
    const target = referenced(dm, dm.read(row.objects.get(object)!, 'Reference'));
    if (!target || target.table?.path !== table) return `${row.path}${object}.Reference names no row of ${table}`;
    if (dm.read(target, 'Enable') !== 'true') return `${target.path} is disabled`;
    if (claimed.has(target.path)) return `${target.path} is already used by another LocalAgent.MTP row`;
    claimed.add(target.path);
    return target;
  };

  const wantMqtt = (row: DmObject, claimed: Set<string>): Wanted | string => {
    const client = claimReference(row, 'MQTT', 'Device.MQTT.Client.', claimed);
    if (typeof client === 'string') return client;
    const { options: mtpOptions, fingerprint } = mqttMtpOptions(dm, row, client, local.mqtt(dm.read(client, 'Alias')), endpointId);
    const rowPath = row.path;
    const clientPath = client.path;
    return {
      key: rowPath,
      protocol: 'MQTT',
      fingerprint,
      build() {
        resetStatsIfDue(clientPath);
        const stats = statsOf(clientPath);
        const mtpLogger = logger.child({ component: 'mqtt', mtp: rowPath });
        let runner: MqttRunner;
        const mtp = factory.mqtt(
          mtpOptions,
          {
            onRecord: (record) => { deliver({ bytes: record.bytes, origin: brokerOrigin(runner, rowPath, record) }); },
            onConnected: (info) => {
              runner.discovered = info.subscribedTopic === mtpOptions.agentTopic ? '' : info.subscribedTopic;
              sendConnectRecords(rowPath, runner.greeted, (toId) => encodeRecord(buildMqttConnectRecord({ toId, fromId: endpointId, mqttVersion: info.mqttVersion, subscribedTopic: info.subscribedTopic })));
            },
            onStatus: (status, detail) => {
              mtpLogger.info({ status, detail }, 'MQTT status');
              if (status === UP_STATUS && runner.status !== UP_STATUS) stats.connected();
              if (status.startsWith('Error')) stats.connectionFailed();
              setAgentStatus(runner, rowPath, status, () => { notify(dm.lookup(clientPath), 'Status'); });
            },
            onPacket: (direction, cmd) => {
              if (direction === 'sent') stats.packetSent(cmd);
              else stats.packetReceived(cmd);
            },
            onSubscriptionStatus: (topic) => {
              for (const sub of dm.lookup(clientPath)?.tables.get('Subscription')?.rows.values() ?? []) if (dm.read(sub, 'Topic') === topic) notify(sub, 'Status');
            },
          },
          mtpLogger,
        );
        const counted: MqttMtp = Object.assign(Object.create(mtp) as MqttMtp, {
          send: async (topic: string, bytes: Uint8Array, kind: OutboundKind) => {
            try {
              await mtp.send(topic, bytes, kind);
            } catch (error) {
              stats.publishFailed();
              throw error;
            }
          },
        });
        runner = {
          key: rowPath,
          fingerprint,
          protocol: 'MQTT',
          status: 'Disabled',
          clientPath,
          mtp: counted,
          discovered: '',
          greeted: new Map(),
          stop: async () => {
            await farewellBroker(runner, mtp);
            await mtp.stop();
          },
        };
        return runner;
      },
    };
  };

  const wantStomp = (row: DmObject, claimed: Set<string>): Wanted | string => {
    const connection = claimReference(row, 'STOMP', 'Device.STOMP.Connection.', claimed);
    if (typeof connection === 'string') return connection;
    const { options: mtpOptions, fingerprint } = stompMtpOptions(dm, row, connection, local.stomp(dm.read(connection, 'Alias')), endpointId);
    const rowPath = row.path;
    const connectionPath = connection.path;
    return {
      key: rowPath,
      protocol: 'STOMP',
      fingerprint,
      build() {
        const mtpLogger = logger.child({ component: 'stomp', mtp: rowPath });
        let runner: StompRunner;
        const mtp = factory.stomp(
          mtpOptions,
          {
            onRecord: (record) => { deliver({ bytes: record.bytes, origin: brokerOrigin(runner, rowPath, record) }); },
            onConnected: (info) => {
              runner.fromServer = info.fromServer ? info.subscribedDestination : '';
              notify(dm.lookup(rowPath)?.objects.get('STOMP'), 'DestinationFromServer');
              sendConnectRecords(rowPath, runner.greeted, (toId) => encodeRecord(buildStompConnectRecord({ toId, fromId: endpointId, subscribedDestination: info.subscribedDestination })));
            },
            onStatus: (status, stompStatus, detail) => {
              mtpLogger.info({ status: stompStatus, detail }, 'STOMP status');
              if (runner.stompStatus !== stompStatus) {
                runner.stompStatus = stompStatus;
                stompChanges.set(connectionPath, Date.now());
                notify(dm.lookup(connectionPath), 'Status');
              }
              setAgentStatus(runner, rowPath, status);
            },
          },
          mtpLogger,
        );
        runner = {
          key: rowPath,
          fingerprint,
          protocol: 'STOMP',
          status: 'Disabled',
          connectionPath,
          mtp,
          stompStatus: 'Connecting',
          fromServer: '',
          greeted: new Map(),
          stop: async () => {
            await farewellBroker(runner, mtp);
            await mtp.stop();
          },
        };
        return runner;
      },
    };
  };

  const wantServer = (row: DmObject): Wanted => {
    const { options: serverOptions, fingerprint } = webSocketServerOptions(dm, row, local.webSocketServer(), endpointId);
    const rowPath = row.path;
    return {
      key: rowPath,
      protocol: 'WebSocket',
      fingerprint,
      build() {
        const mtpLogger = logger.child({ component: 'websocket-server', mtp: rowPath });
        let runner: ServerRunner;
        const channelFor = (peerId: string): Channel => sessionChannel(peerId, undefined);
        const server = factory.webSocketServer(
          { ...serverOptions, admit: (peer) => admitPeer(peer) },
          {
            onRecord: (peerId, bytes) => {
              const channel = channelFor(peerId);
              deliver({ bytes, origin: sessionOrigin(peerId, `WebSocket session of ${peerId}`, channel, () => server.maxRecordBytes) });
            },
            onSessionOpened: (peer) => {
              serverSessions.set(peer.endpointId, rowPath);
              sendSessionConnectRecord(peer.endpointId, channelFor(peer.endpointId));
            },
            onSessionClosed: (peerId) => {
              if (serverSessions.get(peerId) === rowPath && !server.hasSession(peerId)) serverSessions.delete(peerId);
            },
            onStatus: (status, detail) => {
              mtpLogger.info({ status, detail }, 'WebSocket server status');
              setAgentStatus(runner, rowPath, status);
            },
          },
          mtpLogger,
        );
        runner = {
          key: rowPath,
          fingerprint,
          protocol: 'WebSocket',
          status: 'Connecting',
          server,
          stop: async () => {
            const peers = [...serverSessions].filter(([peerId, path]) => path === rowPath && server.hasSession(peerId)).map(([peerId]) => peerId);
            await farewell(peers.map((peerId) => () => server.send(peerId, disconnectRecord(peerId))));
            await server.stop();
          },
        };
        server.start().catch((error: unknown) => {
          mtpLogger.error({ err: error, port: serverOptions.port }, 'the WebSocket server cannot listen');
          setAgentStatus(runner, rowPath, 'Error_Misconfigured');
        });
        return runner;
      },
    };
  };

  /** Who may open a session to the agent's WebSocket server: an enabled Controller, named by its certificate if it has one. */
  const admitPeer = (peer: WebSocketPeer): string | undefined => {
    const controller = controllerByEndpoint(dm, peer.endpointId);
    if (!controller || dm.read(controller, 'Enable') !== 'true') return `${peer.endpointId} is not an enabled Controller of this agent`;
    if (peer.certificateEndpointIds.length > 0 && !peer.certificateEndpointIds.includes(peer.endpointId)) {
      return `the client certificate names ${peer.certificateEndpointIds.join(', ')}, not ${peer.endpointId}`;
    }
    // R-WS.4: one session between two Endpoints. The one the agent dialled (the Controller's configured server) wins.
    for (const runner of clientRunners.values()) {
      if (runner.controllerId === peer.endpointId && runner.status === UP_STATUS) return `the agent already has a WebSocket session with ${peer.endpointId} (it dials the Controller's server)`;
    }
    return undefined;
  };

  const wantClient = (controller: DmObject, row: DmObject): Wanted => {
    const controllerId = dm.read(controller, 'EndpointID');
    const { options: clientOptions, fingerprint } = webSocketClientOptions(dm, controller, row, local.webSocketClient(), endpointId);
    const rowPath = row.path;
    return {
      key: rowPath,
      protocol: 'WebSocket',
      fingerprint,
      build() {
        const mtpLogger = logger.child({ component: 'websocket-client', mtp: rowPath });
        const channel = sessionChannel(controllerId, rowPath);
        let runner: ClientRunner;
        const client = factory.webSocketClient(
          clientOptions,
          {
            onRecord: (bytes) => { deliver({ bytes, origin: sessionOrigin(controllerId, `WebSocket session to ${controllerId}`, channel, () => client.maxRecordBytes) }); },
            onConnected: () => { sendSessionConnectRecord(controllerId, channel); },
            onStatus: (status, detail) => {
              mtpLogger.info({ status, detail }, 'WebSocket client status');
              if (runner.status === status) return;
              runner.status = status;
              if (status === UP_STATUS) outbox.flush();
            },
            onRetryCount: () => { notify(dm.lookup(rowPath)?.objects.get('WebSocket'), 'CurrentRetryCount'); },
          },
          mtpLogger,
        );
        runner = {
          key: rowPath,
          fingerprint,
          protocol: 'WebSocket',
          status: 'Connecting',
          controllerId,
          client,
          stop: async () => {
            if (runner.status === UP_STATUS) await farewell([() => client.send(disconnectRecord(controllerId))]);
            await client.stop();
          },
        };
        client.start();
        return runner;
      },
    };
  };

  /** What should run now, and why each enabled row that cannot run does not. */
  const wanted = (): { agents: Wanted[]; clients: Wanted[] } => {
    const claimedClients = new Set<string>();
    const claimedConnections = new Set<string>();
    const agents: Wanted[] = [];
    let servers = 0;
    for (const row of dm.table(AGENT_MTP_TABLE).rows.values()) {
      if (dm.read(row, 'Enable') !== 'true') continue;
      const protocol = dm.read(row, 'Protocol');
      let want: Wanted | string;
      if (protocol === 'MQTT') want = wantMqtt(row, claimedClients);
      else if (protocol === 'STOMP') want = wantStomp(row, claimedConnections);
      else want = servers++ === 0 ? wantServer(row) : `${row.path}: the agent runs one WebSocket server`;
      if (typeof want === 'string') logger.warn({ mtp: row.path }, `MTP not started: ${want}`);
      else agents.push(want);
    }
    const clients: Wanted[] = [];
    for (const controller of enabledControllers()) {
      for (const mtp of controllerMtps(dm, controller)) if (mtp.protocol === 'WebSocket' && mtp.dials) clients.push(wantClient(controller, mtp.row));
    }
    return { agents, clients };
  };

  const reconcile = async (): Promise<void> => {
    const { agents, clients } = running ? wanted() : { agents: [], clients: [] };
    const sync = async <R extends Runner>(runners: Map<string, R>, wants: readonly Wanted[]): Promise<void> => {
      const byKey = new Map(wants.map((w) => [w.key, w]));
      for (const [key, runner] of [...runners]) {
        const want = byKey.get(key);
        if (want && want.fingerprint === runner.fingerprint && !restartKeys.has(key)) continue;
        runners.delete(key);
        await runner.stop().catch((error: unknown) => { logger.warn({ err: error, mtp: key }, 'stopping an MTP failed'); });
        if (runner.protocol === 'MQTT') resetStatsIfDue((runner as unknown as MqttRunner).clientPath);
        notify(dm.lookup(key), 'Status');
      }
      for (const want of wants) {
        if (runners.has(want.key)) continue;
        await factory.prepare?.(want.protocol);
        const runner = want.build() as R;
        runners.set(want.key, runner);
        if (runner.protocol !== 'WebSocket') (runner as unknown as MqttRunner | StompRunner).mtp.start();
      }
    };
    await sync(agentRunners, agents);
    await sync(clientRunners, clients);
    restartKeys.clear();
    // Counters of rows that are gone: a Controller adding and deleting clients would otherwise grow these maps.
    for (const path of [...mqttStats.keys(), ...stompChanges.keys()]) {
      if (dm.lookup(path)) continue;
      mqttStats.delete(path);
      stompChanges.delete(path);
    }
    for (const runner of agentRunners.values()) {
      if (runner.protocol === 'STOMP') {
        const row = dm.lookup(runner.key);
        if (row) runner.mtp.setDestination(raw(dm, row.objects.get('STOMP')!, 'Destination'));
      }
      if (runner.protocol !== 'MQTT') continue;
      const client = dm.lookup(runner.clientPath);
      if (!client) continue;
      runner.mtp.setSubscriptions(mqttSubscriptionRows(dm, client));
      runner.mtp.setRetry(mqttRetry(dm, client));
    }
    // Sessions of Controllers that were disabled, removed or banned since they opened them.
    for (const [peerId, path] of serverSessions) {
      const runner = agentRunners.get(path);
      if (runner?.protocol !== 'WebSocket') continue;
      const refused = admitPeer({ endpointId: peerId, certificateEndpointIds: [], remoteAddress: '' });
      if (refused !== undefined) runner.server.closeSession(peerId, refused);
    }
  };
  const rebuild = (): Promise<void> => {
    rebuilding = rebuilding.then(reconcile).catch((error: unknown) => { logger.error({ err: error }, 'applying the MTP rows failed'); });
    return rebuilding;
  };
  const scheduleRebuild = (): void => {
    if (!running) return;
    if (rebuildTimer) clearTimeout(rebuildTimer);
    rebuildTimer = setTimeout(() => {
      rebuildTimer = undefined;
      void rebuild();
    }, REBUILD_DELAY_MS);
  };

  const agentRunnerOf = (row: DmObject): MqttRunner | StompRunner | ServerRunner | undefined => agentRunners.get(row.path);
  const runnerUsing = <R extends MqttRunner | StompRunner>(protocol: R['protocol'], referencePath: string): R | undefined => {
    for (const runner of agentRunners.values()) {
      if (runner.protocol === 'MQTT' && protocol === 'MQTT' && runner.clientPath === referencePath) return runner as R;
      if (runner.protocol === 'STOMP' && protocol === 'STOMP' && runner.connectionPath === referencePath) return runner as R;
    }
    return undefined;
  };

  return {
    start() {
      running = true;
      void rebuild();
    },
    async stop() {
      running = false;
      if (rebuildTimer) clearTimeout(rebuildTimer);
      await rebuild();
    },
    changed: scheduleRebuild,
    reconnect(row) {
      if (row.table?.path === 'Device.MQTT.Client.') {
        const runner = runnerUsing<MqttRunner>('MQTT', row.path);
        if (runner) restartKeys.add(runner.key);
        scheduleRebuild();
        return;
      }
      // Controller.{i}.MTP.{j}.WebSocket.Reset(): dial again at once, the retry count back to 0.
      clientRunners.get(row.parent?.path ?? row.path)?.client.reset();
    },
    mqttClientChanged(client, newBroker) {
      if (newBroker) statsToReset.add(client.path);
      scheduleRebuild();
    },
    mqttLiveSettingsChanged(client) {
      const runner = runnerUsing<MqttRunner>('MQTT', client.path);
      if (!runner) return;
      runner.mtp.setSubscriptions(mqttSubscriptionRows(dm, client));
      runner.mtp.setRetry(mqttRetry(dm, client));
    },
    agentMtpStatus(row) {
      const status = agentRunnerOf(row)?.status;
      if (status === UP_STATUS) return 'Up';
      return status?.startsWith('Error') ? 'Error' : 'Down';
    },
    mqttClientStatus: (client) => (dm.read(client, 'Enable') !== 'true' ? 'Disabled' : (runnerUsing<MqttRunner>('MQTT', client.path)?.status ?? 'Disabled')),
    mqttStats: (client) => statsOf(client.path).values(),
    mqttSubscriptionStatus: (client, topic) => runnerUsing<MqttRunner>('MQTT', client.path)?.mtp.subscriptionStatus(topic) ?? 'Unsubscribed',
    responseTopicDiscovered(agentMtp) {
      const runner = agentRunnerOf(agentMtp);
      return runner?.protocol === 'MQTT' ? runner.discovered : '';
    },
    destinationFromServer(agentMtp) {
      const runner = agentRunnerOf(agentMtp);
      return runner?.protocol === 'STOMP' ? runner.fromServer : '';
    },
    stompStatus: (connection) => (dm.read(connection, 'Enable') !== 'true' ? 'Disabled' : (runnerUsing<StompRunner>('STOMP', connection.path)?.stompStatus ?? 'Disabled')),
    stompLastChange: (connection) => stompChanges.get(connection.path) ?? 0,
    stompIsEncrypted: (connection) => {
      const runner = runnerUsing<StompRunner>('STOMP', connection.path);
      return runner !== undefined && runner.status === UP_STATUS && raw(dm, connection, 'EnableEncryption') === 'true';
    },
    webSocketRetryCount: (controllerMtp) => clientRunners.get(controllerMtp.parent?.path ?? controllerMtp.path)?.client.currentRetryCount ?? 0,
    sendToController(controller, bytes, kind) {
      const channels = (): Channel[] => controllerMtps(dm, controller).map((mtp) => channelOf(controller, mtp));
      if (channels().length === 0) return false;
      outbox.toAnyOf(dm.read(controller, 'EndpointID'), channels, bytes, kind);
      return true;
    },
    get anyUp() {
      return [...agentRunners.values(), ...clientRunners.values()].some((runner) => runner.status === UP_STATUS);
    },
    get lastActivityAt() {
      return lastActivityAt;
    },
  };
}
