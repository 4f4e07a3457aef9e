// Bindings for Device.MQTT.: the MQTT client row(s) the agent's MQTT MTP runs from.
import type { Registry } from '../registry.ts';
import type { DmObject } from '../instances.ts';
import type { MtpStatus } from '../../mtp/mtp.ts';

export interface MqttRuntime {
  status(client: DmObject): MtpStatus;
  responseInformation(client: DmObject): string;
  stats(client: DmObject): { connectedAt: string; lastSent: string; lastReceived: string; sent: number; received: number; connectionErrors: number; publishErrors: number };
  /** A connection parameter was written: reconnect with the new settings. */
  configChanged(client: DmObject): void;
  /** The back-off parameters were written: they govern the next retry; the connection is left alone. */
  retryChanged(client: DmObject): void;
  forceReconnect(client: DmObject): void;
}

/** Writes to these parameters do not need a reconnect. */
const NO_RECONNECT = new Set(['Alias', 'Name']);
/** R-MQTT.10 back-off: read when the next retry is scheduled. obuspa, too, applies them "at the next reconnect". */
const BACK_OFF = new Set(['ConnectRetryTime', 'ConnectRetryIntervalMultiplier', 'ConnectRetryMaxInterval']);

export function bindMqtt(registry: Registry, runtime: MqttRuntime): void {
  registry.bindObject('Device.MQTT.Capabilities.', {
    get: {
      ProtocolVersionsSupported: () => '3.1.1,5.0',
      TransportProtocolSupported: () => 'TCP/IP,TLS',
      MaxNumberOfClientSubscriptions: () => '0',
    },
  });
  registry.bindObject('Device.MQTT.Client.{i}.', {
    get: { Status: (client) => runtime.status(client), ResponseInformation: (client) => runtime.responseInformation(client) },
    onChanged(client, names) {
      if (names.some((name) => BACK_OFF.has(name))) runtime.retryChanged(client);
      if (names.some((name) => !NO_RECONNECT.has(name) && !BACK_OFF.has(name))) runtime.configChanged(client);
    },
  });
  registry.bindCommand('Device.MQTT.Client.{i}.ForceReconnect()', ({ obj }) => {
    runtime.forceReconnect(obj);
    return {};
  });
  const clientOf = (stats: DmObject): DmObject => stats.parent!;
  registry.bindObject('Device.MQTT.Client.{i}.Stats.', {
    get: {
      BrokerConnectionEstablished: (s) => runtime.stats(clientOf(s)).connectedAt,
      LastPublishMessageSent: (s) => runtime.stats(clientOf(s)).lastSent,
      LastPublishMessageReceived: (s) => runtime.stats(clientOf(s)).lastReceived,
      PublishSent: (s) => String(runtime.stats(clientOf(s)).sent),
      PublishReceived: (s) => String(runtime.stats(clientOf(s)).received),
      ConnectionErrors: (s) => String(runtime.stats(clientOf(s)).connectionErrors),
      PublishErrors: (s) => String(runtime.stats(clientOf(s)).publishErrors),
    },
  });
}
