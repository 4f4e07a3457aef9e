// The Message Transfer Protocol port: how the engine receives USP Records and sends them back.
// An MTP knows its wire (topics, properties, reconnects); it never interprets a Record (WebSocket only checks that a
// binary frame holds one, to close with 1003 when not: R-WS.16).

/** A Record as it arrived, with where the sender asked for the answer to go (MQTT: Response Topic or `/reply-to=` suffix). */
export interface InboundRecord {
  readonly bytes: Uint8Array;
  /** The sender's reply-to address on this MTP, or undefined when the message carried none. */
  readonly replyTo: string | undefined;
  /** Where it arrived (MQTT: the PUBLISH topic without a `/reply-to=` suffix), for binding senders to their topics. */
  readonly arrivedOn?: string | undefined;
}

/** Emitted after every successful (re)connect and subscribe, so that the agent can send its Connect Records. */
export interface MtpConnectedInfo {
  /** 5 for MQTT 5.0, 4 for MQTT 3.1.1. */
  readonly mqttVersion: 5 | 4;
  /** The topic the agent is subscribed to and wants replies on (CONNACK Response Information, else the configured one). */
  readonly subscribedTopic: string;
}

/** TR-181 `Device.MQTT.Client.{i}.Status` values. */
export type MtpStatus = 'Disabled' | 'Connecting' | 'Connected' | 'Error_Misconfigured' | 'Error_BrokerUnreachable' | 'Error';

export interface MtpEvents {
  onRecord(record: InboundRecord): void;
  onConnected(info: MtpConnectedInfo): void;
  onStatus(status: MtpStatus, detail?: string): void;
}

import type { OutboundKind } from '../engine/transport.ts';
import { BerthError } from '../errors/berth-error.ts';

export type { OutboundKind };

/**
 * A Record this MTP can never deliver (larger than the connection carries). Not worth queueing for a later
 * connection: it would fail the same way, and on MQTT a too-large PUBLISH makes the broker drop the connection.
 */
export class RecordTooLargeError extends BerthError {
  readonly bytes: number;
  readonly limitBytes: number;
  constructor(bytes: number, limitBytes: number) {
    super('RECORD_TOO_LARGE', `a Record of ${bytes} bytes is larger than the ${limitBytes} bytes this MTP carries`);
    this.name = 'RecordTooLargeError';
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

export interface Mtp {
  /** Begins connecting in the background (with the binding's randomized back-off); resolves at once. */
  start(): void;
  /**
   * Publishes a Record to `topic`. Rejects if not connected or the publish fails; with RecordTooLargeError,
   * without sending anything, when the Record is larger than `maxRecordBytes`.
   */
  send(topic: string, bytes: Uint8Array, kind: OutboundKind): Promise<void>;
  /** The largest Record `send` can deliver now (the configured limit, lowered to what the peer announced). */
  readonly maxRecordBytes: number;
  /** Disconnects cleanly and stops reconnecting. */
  stop(): Promise<void>;
  readonly status: MtpStatus;
}

// ---------------------------------------------------------------------------------------------------------------
// The MTP adapters the MTP manager (src/mtp/mtp-manager.ts) builds from the data model. MQTT and STOMP are broker
// MTPs: the `Mtp` above, with `send(address, …)` to a topic or destination. WebSocket is connection-oriented: one
// session per Controller, either dialled by the agent (client role) or accepted by its server (server role).
// ---------------------------------------------------------------------------------------------------------------

/** The standard MTPs berth speaks (TR-181 LocalAgent.SupportedProtocols). */
export type MtpProtocol = 'MQTT' | 'STOMP' | 'WebSocket';

/** Retry back-off of a binding, in seconds (fractions allowed, for tests): wait n is random in [m·(k/1000)^(n−1), m·(k/1000)^n]. */
export interface BackoffSettings {
  /** m: MQTT ConnectRetryTime, STOMP ServerRetryInitialInterval, WebSocket SessionRetryMinimumWaitInterval. */
  readonly initialSeconds: number;
  /** k, 1000–65535. */
  readonly multiplier: number;
  /** Upper bound of any wait (STOMP ServerRetryMaxInterval; WebSocket: none, the range stops growing after retry 10). */
  readonly maxSeconds?: number;
}

/** TLS material of a connection, as file paths (PEM). */
export interface TlsFiles {
  /** CA bundle that signs the peer's certificate; the system CAs when absent. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** STOMP MTP (src/mtp/stomp/stomp-mtp.ts): STOMP.Connection.{i} + LocalAgent.MTP.{i}.STOMP. */
export interface StompMtpOptions {
  readonly host: string;
  readonly port: number;
  /**
   * `host` header (STOMP.Connection.{i}.VirtualHost); omitted when empty (R-STOMP.5 "if configured"): RabbitMQ takes
   * `host` as its vhost name and refuses a connection that names its host name instead.
   */
  readonly virtualHost?: string;
  readonly username?: string;
  readonly password?: string;
  /** TLS to the broker (STOMP.Connection.{i}.EnableEncryption) and its files. */
  readonly tls?: TlsFiles | undefined;
  /** The config file gave this connection TLS: without `tls`, the password is never sent (Error_Misconfigured, no retry). */
  readonly requireTls?: boolean;
  /** STOMP.Connection.{i}.EnableHeartbeats with Outgoing/IncomingHeartbeat in ms; undefined: no heart-beat header (R-STOMP.9). */
  readonly heartbeats?: { readonly outgoingMs: number; readonly incomingMs: number } | undefined;
  readonly retry: BackoffSettings;
  readonly endpointId: string;
  /** LocalAgent.MTP.{i}.STOMP.Destination: subscribed unless the broker names one (subscribe-dest); '' for none. */
  readonly destination: string;
  /** Largest Record sent or taken; larger inbound frames drop the connection (the frame cannot be skipped safely). */
  readonly maxRecordBytes: number;
  readonly random?: () => number;
}

export interface StompConnectedInfo {
  /** The destination subscribed: the broker's subscribe-dest, else the configured one (DestinationFromServer when the former). */
  readonly subscribedDestination: string;
  readonly fromServer: boolean;
}

/** TR-181 Device.STOMP.Connection.{i}.Status. */
export type StompConnectionStatus = 'Enabled' | 'Disabled' | 'Connecting' | 'ServerNotPresent' | 'Error_Misconfigured' | 'Error_AuthenticationFailure' | 'Error';

export interface StompMtpEvents {
  /** replyTo: the MESSAGE's reply-to-dest; arrivedOn: its destination. */
  onRecord(record: InboundRecord): void;
  onConnected(info: StompConnectedInfo): void;
  /** status for the generic Up/Down (Connected = Up); stompStatus for STOMP.Connection.{i}.Status. */
  onStatus(status: MtpStatus, stompStatus: StompConnectionStatus, detail?: string): void;
}

export interface StompMtp extends Mtp {
  readonly stompStatus: StompConnectionStatus;
  /**
   * LocalAgent.MTP.{i}.STOMP.Destination changed (R-STOMP.29): when subscribed to the configured destination,
   * UNSUBSCRIBE and SUBSCRIBE the new one, then onConnected again; '' drops the connection and retries (R-STOMP.16).
   * When the broker named the destination (subscribe-dest), the new value only matters on a later connection.
   */
  setDestination(destination: string): void;
}

/** WebSocket client role (src/mtp/websocket/websocket-client.ts): Controller.{i}.MTP.{j}.WebSocket. */
export interface WebSocketClientOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** EnableEncryption: wss with `tls` (CA to check the Controller, client certificate to present). */
  readonly encryption: boolean;
  readonly tls?: TlsFiles | undefined;
  /** Ping every this many seconds (KeepAliveInterval); the session is dropped when a pong is missed. */
  readonly keepAliveSeconds: number;
  readonly retry: BackoffSettings;
  /** Sent as the `eid` query parameter (R-WS.10b). */
  readonly agentEndpointId: string;
  /** The Controller this row belongs to: its certificate, when it has a USP one, must name it (R-SEC.0a). */
  readonly controllerEndpointId: string;
  readonly maxRecordBytes: number;
  readonly random?: () => number;
}

export interface WebSocketClientEvents {
  onRecord(bytes: Uint8Array): void;
  /** The session is open (send the WebSocketConnectRecord). */
  onConnected(): void;
  onStatus(status: MtpStatus, detail?: string): void;
  /** CurrentRetryCount changed. */
  onRetryCount?(count: number): void;
}

export interface WebSocketClientMtp {
  start(): void;
  stop(): Promise<void>;
  send(bytes: Uint8Array): Promise<void>;
  readonly status: MtpStatus;
  readonly maxRecordBytes: number;
  readonly currentRetryCount: number;
  /** The Reset() command: drop the session and dial again at once, retry count 0. */
  reset(): void;
}

/** Who opened a session to the agent's WebSocket server. */
export interface WebSocketPeer {
  /** From the `eid` query parameter (or the deprecated bbf-usp-protocol extension). */
  readonly endpointId: string;
  /** Endpoint IDs in the peer's verified TLS client certificate (SAN URI urn:bbf:usp:id:…), [] without one. */
  readonly certificateEndpointIds: readonly string[];
  readonly remoteAddress: string;
}

/** WebSocket server role (src/mtp/websocket/websocket-server.ts): LocalAgent.MTP.{i}.WebSocket. */
export interface WebSocketServerOptions {
  /** Address to listen on; port 0 picks a free one (tests). */
  readonly bindAddress: string;
  readonly port: number;
  /** Only upgrades to this path are taken ('/' when empty). */
  readonly path: string;
  /** EnableEncryption: TLS with `tls.certFile/keyFile`; `tls.caFile` checks client certificates. */
  readonly encryption: boolean;
  readonly tls?: TlsFiles | undefined;
  /** Client certificates are required (refused without one signed by caFile). */
  readonly requireClientCertificate: boolean;
  readonly keepAliveSeconds: number;
  readonly agentEndpointId: string;
  readonly maxRecordBytes: number;
  /** At most this many sessions at once; more are refused at the upgrade (HTTP 503). */
  readonly maxSessions: number;
  /** The TLS handshake and the upgrade request together, at most (then the connection is dropped); default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /**
   * Why this peer may not open a session (unknown or disabled Controller, …), or undefined. Asked only once the
   * server's own checks pass: v1.usp offered, an eid, a trusted client certificate (when one is presented or
   * required) whose urn:bbf:usp:id: SANs, if any, name that eid.
   */
  admit(peer: WebSocketPeer): string | undefined;
}

export interface WebSocketServerEvents {
  onRecord(endpointId: string, bytes: Uint8Array): void;
  /** A session opened (send the WebSocketConnectRecord); one that replaced an older one of the same peer too. */
  onSessionOpened(peer: WebSocketPeer): void;
  /** The peer has no session any more (not emitted for a session a newer one of the same peer replaced). */
  onSessionClosed(endpointId: string): void;
  onStatus(status: MtpStatus, detail?: string): void;
}

export interface WebSocketServerMtp {
  /** Resolves once listening (rejects when the port cannot be bound). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Rejects when there is no open session with that peer. */
  send(endpointId: string, bytes: Uint8Array): Promise<void>;
  hasSession(endpointId: string): boolean;
  /** Closes the peer's session (its Controller was disabled or removed). */
  closeSession(endpointId: string, reason: string): void;
  /** The port listened on (the real one when started with 0). */
  readonly port: number;
  readonly status: MtpStatus;
  readonly maxRecordBytes: number;
}
