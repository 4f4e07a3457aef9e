// The config file's part of each MTP that the data model does not hold (TLS files, size bounds, the WebSocket
// server's bind address), looked up by the Alias of the row the config seeded. Rows added over USP get the defaults.
import { configRequiresTls, stompConfigRequiresTls } from '../datamodel/transport-security.ts';
import type { MtpLocalSettings } from '../mtp/mtp-manager.ts';
import type { BerthConfig } from './config.ts';
import { MQTT_CLIENT_ALIAS, STOMP_CONNECTION_ALIAS } from './seed-mtps.ts';

/** A Record larger than this is refused on an MTP the config does not size (one added over USP): as obuspa. */
export const DEFAULT_MAX_RECORD_BYTES = 5 * 1024 * 1024;

/** Config-file settings of the MTPs that the data model does not hold (TLS files, bounds), by seeded row Alias. */
export function mtpLocalSettings(config: BerthConfig): MtpLocalSettings {
  const mqttTls = config.mqtt !== undefined && configRequiresTls(config.mqtt);
  const ws = config.websocket;
  const wsTls = { ...(ws?.caFile !== undefined && { caFile: ws.caFile }), ...(ws?.certFile !== undefined && { certFile: ws.certFile }), ...(ws?.keyFile !== undefined && { keyFile: ws.keyFile }) };
  return {
    mqtt: (alias) =>
      alias === MQTT_CLIENT_ALIAS && config.mqtt
        ? {
            tls: { ...(config.mqtt.caFile !== undefined && { caFile: config.mqtt.caFile }), ...(config.mqtt.certFile !== undefined && { certFile: config.mqtt.certFile }), ...(config.mqtt.keyFile !== undefined && { keyFile: config.mqtt.keyFile }) },
            requireTls: mqttTls,
            maxRecordBytes: config.mqtt.maxMessageBytes,
            webSocketPath: new URL(config.mqtt.url).pathname,
          }
        : { tls: {}, requireTls: false, maxRecordBytes: DEFAULT_MAX_RECORD_BYTES, webSocketPath: '/' },
    stomp: (alias) =>
      alias === STOMP_CONNECTION_ALIAS && config.stomp
        ? {
            tls: { ...(config.stomp.caFile !== undefined && { caFile: config.stomp.caFile }), ...(config.stomp.certFile !== undefined && { certFile: config.stomp.certFile }), ...(config.stomp.keyFile !== undefined && { keyFile: config.stomp.keyFile }) },
            requireTls: stompConfigRequiresTls(config.stomp),
            maxRecordBytes: config.stomp.maxMessageBytes,
          }
        : { tls: {}, requireTls: false, maxRecordBytes: DEFAULT_MAX_RECORD_BYTES },
    webSocketServer: () => ({
      bindAddress: ws?.listen?.bindAddress ?? '0.0.0.0',
      tls: wsTls,
      requireClientCertificate: ws?.listen?.requireClientCertificate ?? true,
      maxSessions: ws?.listen?.maxSessions ?? 32,
      maxRecordBytes: ws?.maxMessageBytes ?? DEFAULT_MAX_RECORD_BYTES,
    }),
    webSocketClient: () => ({ tls: wsTls, maxRecordBytes: ws?.maxMessageBytes ?? DEFAULT_MAX_RECORD_BYTES }),
  };
}
