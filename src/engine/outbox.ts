// Where Records for a Controller go: its MQTT topic (Controller.{i}.MTP.{j}.MQTT.Topic, lowest Order first).
// While the MTP is down, Records wait here (bounded) and go out on reconnect — so Boot! and notifications
// raised before the broker answers are not lost. A Record the MTP can never carry (too large) is dropped and logged
// at once, and one whose publish keeps failing is given up after a few connections: otherwise a single bad Record
// re-sent after every reconnect could keep the agent from ever answering anyone.
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { RecordTooLargeError } from '../mtp/mtp.ts';
import type { Mtp, OutboundKind } from '../mtp/mtp.ts';
import type { Logger } from '../log.ts';

export const MAX_QUEUED_RECORDS = 1000;
/** Publishes a Record may fail (each on another connection) before it is dropped. */
export const MAX_SEND_ATTEMPTS = 3;

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

interface QueuedRecord {
  readonly topic: string;
  readonly bytes: Uint8Array;
  readonly kind: OutboundKind;
  /** Publishes already tried and failed. */
  failures: number;
}

export function createOutbox(mtp: () => Mtp | undefined, logger: Logger): Outbox {
  const queue: QueuedRecord[] = [];
  const enqueue = (item: QueuedRecord): void => {
    if (queue.length >= MAX_QUEUED_RECORDS) {
      const dropped = queue.shift()!;
      logger.warn({ topic: dropped.topic, kind: dropped.kind }, 'outbound queue full while the MTP is down; dropped the oldest Record');
    }
    queue.push(item);
  };
  const publish = (item: QueuedRecord): void => {
    const current = mtp();
    if (current?.status !== 'Connected') {
      enqueue(item);
      return;
    }
    current.send(item.topic, item.bytes, item.kind).catch((error: unknown) => {
      if (error instanceof RecordTooLargeError) {
        logger.error({ topic: item.topic, kind: item.kind, bytes: error.bytes, limit: error.limitBytes }, 'dropped a Record larger than the MTP carries');
        return;
      }
      item.failures += 1;
      if (item.failures >= MAX_SEND_ATTEMPTS) {
        logger.error({ err: error, topic: item.topic, kind: item.kind, attempts: item.failures }, 'dropped a Record whose publish failed on every try');
        return;
      }
      logger.warn({ err: error, topic: item.topic }, 'publish failed; Record queued for the next connection');
      enqueue(item);
    });
  };
  return {
    send(topic, bytes, kind) {
      publish({ topic, bytes, kind, failures: 0 });
    },
    flush() {
      const waiting = queue.splice(0);
      for (const item of waiting) publish(item);
    },
  };
}
