// Which broker connections (MQTT, STOMP) carry the password under TLS, and whether the config file asked for TLS. The
// agent never sends the password over a connection weaker than the one it was configured for: the data model
// refuses such a write (src/datamodel/bindings/broker-credentials.ts) and the MTP refuses to connect that way.

/** TR-181 `Device.MQTT.Client.{i}.TransportProtocol` values that run over TLS. */
const TLS_TRANSPORTS: ReadonlySet<string> = new Set(['TLS', 'WebSocketTLS']);
/** URL schemes the MQTT MTP opens over TLS (src/mtp/mqtt-connect.ts, mqtt.js for wss:). */
const TLS_SCHEMES: ReadonlySet<string> = new Set(['mqtts:', 'ssl:', 'tls:', 'wss:']);

export function isTlsTransport(transportProtocol: string): boolean {
  return TLS_TRANSPORTS.has(transportProtocol);
}

export function isTlsUrl(url: string): boolean {
  try {
    return TLS_SCHEMES.has(new URL(url).protocol);
  } catch {
    return false;
  }
}

export interface MqttTlsSettings {
  readonly url: string;
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/**
 * The config file gave the broker connection TLS: an mqtts:// or wss:// URL, or a CA or client certificate to use
 * (which only mean something with TLS).
 */
export function configRequiresTls(mqtt: MqttTlsSettings): boolean {
  return isTlsUrl(mqtt.url) || mqtt.caFile !== undefined || mqtt.certFile !== undefined || mqtt.keyFile !== undefined;
}

export interface StompTlsSettings {
  readonly url: string;
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
}

/** The config file gave the STOMP connection TLS: a stomps:// URL, or a CA or client certificate to use. */
export function stompConfigRequiresTls(stomp: StompTlsSettings): boolean {
  return new URL(stomp.url).protocol === 'stomps:' || stomp.caFile !== undefined || stomp.certFile !== undefined;
}
