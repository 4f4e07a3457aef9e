// Where Records for a Controller go: its MQTT topic (Controller.{i}.MTP.{j}.MQTT.Topic, lowest Order first).
// While the MTP is down, Records wait here (bounded) and go out on reconnect — so Boot! and notifications
// raised before the broker answers are not lost.
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { Mtp, OutboundKind } from '../mtp/mtp.ts';
import type { Logger } from '../log.ts';

export const MAX_QUEUED_RECORDS = 1000;

export function controllerTopic(dm: DataModel, controller: DmObject): string | undefined {
  const mtps = [...(controller.tables.get('MTP')?.rows.values() ?? [])]
    .filter((mtp) => dm.read(mtp, 'Enable') === 'true' && dm.read(mtp, 'Protocol') === 'MQTT')
    .sort((a, b) => Number(dm.read(a, 'Order')) - Number(dm.read(b, 'Order')));
  for (const mtp of mtps) {
    const topic = dm.read(mtp.objects.get('MQTT')!, 'Topic');
    if (topic !== '') return topic;
  }
  return undefined;
}

export interface Outbox {
  send(topic: string, bytes: Uint8Array, kind: OutboundKind): void;
  /** Sends what waited while disconnected. */
  flush(): void;
}

export function createOutbox(mtp: () => Mtp | undefined, logger: Logger): Outbox {
  const queue: { topic: string; bytes: Uint8Array; kind: OutboundKind }[] = [];
  const publish = (topic: string, bytes: Uint8Array, kind: OutboundKind): void => {
    const current = mtp();
    if (current?.status !== 'Connected') {
      if (queue.length >= MAX_QUEUED_RECORDS) {
        queue.shift();
        logger.warn('outbound queue full while the MTP is down; dropped the oldest Record');
      }
      queue.push({ topic, bytes, kind });
      return;
    }
    current.send(topic, bytes, kind).catch((error: unknown) => {
      logger.warn({ err: error, topic }, 'publish failed; Record queued for the next connection');
      queue.push({ topic, bytes, kind });
    });
  };
  return {
    send: publish,
    flush() {
      const waiting = queue.splice(0);
      for (const item of waiting) publish(item.topic, item.bytes, item.kind);
    },
  };
}
