// Bindings for Device.MQTT.: the MQTT client row(s) the agent's MQTT MTP runs from, their Subscription tables
// and statistics.
import type { Registry } from '../registry.ts';
import type { DmObject } from '../instances.ts';
import type { DataModel } from '../data-model.ts';
import type { MtpStatus } from '../../mtp/mtp.ts';
import type { SubscriptionStatus } from '../../mtp/mqtt-subscriptions.ts';
import type { MqttStatsValues } from '../../mtp/mqtt-stats.ts';
import { topicFilterProblem } from '../../usp/mqtt-topic-filter.ts';
import { toDateTime, UNKNOWN_TIME } from '../../usp/values.ts';
import { ErrorCode, UspError } from '../../usp/errors.ts';
import { MQTT_CLIENT_ROW, refuseCredentialExposure } from './broker-credentials.ts';

import { MAX_SUBSCRIPTIONS_PER_CLIENT } from '../../../datamodel/mqtt.ts';

export interface MqttRuntime {
  status(client: DmObject): MtpStatus;
  responseInformation(client: DmObject): string;
  stats(client: DmObject): MqttStatsValues;
  /** Connection parameters were written (`names`): reconnect with the new settings. */
  configChanged(client: DmObject, names: readonly string[]): void;
  /** The back-off parameters were written: they govern the next retry; the connection is left alone. */
  retryChanged(client: DmObject): void;
  forceReconnect(client: DmObject): void;
  /** A row of the client's Subscription table was added, deleted or changed. */
  subscriptionsChanged(client: DmObject): void;
  subscriptionStatus(client: DmObject, topic: string): SubscriptionStatus;
  /** The config file gave this client TLS (mqtts://, a CA or a client certificate). */
  tlsRequired(client: DmObject): boolean;
}

/** Writes to these parameters do not need a reconnect. */
const NO_RECONNECT = new Set(['Alias', 'Name', 'MessageRetryTime']);
/** R-MQTT.10 back-off: read when the next retry is scheduled. obuspa, too, applies them "at the next reconnect". */
const BACK_OFF = new Set(['ConnectRetryTime', 'ConnectRetryIntervalMultiplier', 'ConnectRetryMaxInterval']);

export function bindMqtt(registry: Registry, runtime: MqttRuntime, dm: () => DataModel): void {
  registry.bindObject('Device.MQTT.Capabilities.', {
    get: {
      ProtocolVersionsSupported: () => '3.1.1,5.0',
      TransportProtocolSupported: () => 'TCP/IP,TLS',
      MaxNumberOfClientSubscriptions: () => String(MAX_SUBSCRIPTIONS_PER_CLIENT),
    },
  });
  registry.bindObject('Device.MQTT.Client.{i}.', {
    get: { Status: (client) => runtime.status(client), ResponseInformation: (client) => runtime.responseInformation(client) },
    validate(client, previous) {
      refuseCredentialExposure(MQTT_CLIENT_ROW, dm(), client, previous, runtime.tlsRequired(client));
    },
    onChanged(client, names) {
      if (names.some((name) => BACK_OFF.has(name))) runtime.retryChanged(client);
      if (names.some((name) => !NO_RECONNECT.has(name) && !BACK_OFF.has(name))) runtime.configChanged(client, names);
    },
  });
  registry.bindCommand('Device.MQTT.Client.{i}.ForceReconnect()', ({ obj }) => {
    runtime.forceReconnect(obj);
    return {};
  });

  const clientOf = (child: DmObject): DmObject => child.parent!;
  registry.bindObject('Device.MQTT.Client.{i}.Subscription.{i}.', {
    get: { Status: (row) => runtime.subscriptionStatus(clientOf(row), dm().read(row, 'Topic')) },
    validate(row) {
      const topic = dm().read(row, 'Topic');
      if (topic === '') {
        if (dm().read(row, 'Enable') === 'true') throw new UspError(ErrorCode.InvalidValue, `${row.path}: an enabled subscription needs a Topic`);
        return;
      }
      const problem = topicFilterProblem(topic);
      if (problem) throw new UspError(ErrorCode.InvalidValue, `${row.path}Topic: '${topic}' is not an MQTT topic filter: ${problem}`);
    },
    onAdded: (row) => { runtime.subscriptionsChanged(clientOf(row)); },
    onDeleted: (row) => { runtime.subscriptionsChanged(clientOf(row)); },
    onChanged: (row) => { runtime.subscriptionsChanged(clientOf(row)); },
  });

  const when = (ms: number): string => (ms === 0 ? UNKNOWN_TIME : toDateTime(new Date(ms)));
  const stats = (s: DmObject): MqttStatsValues => runtime.stats(clientOf(s));
  registry.bindObject('Device.MQTT.Client.{i}.Stats.', {
    get: {
      BrokerConnectionEstablished: (s) => when(stats(s).brokerConnectionEstablished),
      LastPublishMessageSent: (s) => when(stats(s).lastPublishMessageSent),
      LastPublishMessageReceived: (s) => when(stats(s).lastPublishMessageReceived),
      PublishSent: (s) => String(stats(s).publishSent),
      PublishReceived: (s) => String(stats(s).publishReceived),
      SubscribeSent: (s) => String(stats(s).subscribeSent),
      UnSubscribeSent: (s) => String(stats(s).unSubscribeSent),
      MQTTMessagesSent: (s) => String(stats(s).mqttMessagesSent),
      MQTTMessagesReceived: (s) => String(stats(s).mqttMessagesReceived),
      ConnectionErrors: (s) => String(stats(s).connectionErrors),
      PublishErrors: (s) => String(stats(s).publishErrors),
    },
  });
}
