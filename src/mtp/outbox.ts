// Where outgoing Records wait. A Record goes out on a channel: one MTP and one address on it (an MQTT topic on one
// client, a STOMP destination on one connection, a WebSocket session with one Controller). A response goes back on
// the channel its request came on; an agent-originated Record (Notify, OnBoardRequest) goes on the first of its
// Controller's channels that is up, in their Order, and falls back to the next when a send fails (TR-369 §MTP:
// notifications may go over any of the Controller's MTPs). While nothing is up, Records wait (bounded, the oldest
// dropped first) and go out when a channel comes up — so Boot! and notifications raised before a broker answers
// are not lost. A Record a channel can never carry (too large) is dropped and logged at once, and one whose send
// keeps failing is given up after a few tries: otherwise a single bad Record re-sent after every reconnect could
// keep the agent from ever answering anyone.
import { RecordTooLargeError } from './mtp.ts';
import type { OutboundKind } from '../engine/transport.ts';
import type { Logger } from '../log.ts';

export const MAX_QUEUED_RECORDS = 1000;
/** Sends a Record may fail (each on another connection or channel) before it is dropped. */
export const MAX_SEND_ATTEMPTS = 3;

export interface Channel {
  /** Stable identity, for logs: e.g. "MQTT Device.LocalAgent.MTP.1. → usp/controller/ops". */
  readonly key: string;
  /** Whether a send can be tried now. */
  up(): boolean;
  /** Rejects when the send failed; with RecordTooLargeError when the Record can never go this way. */
  send(bytes: Uint8Array, kind: OutboundKind): Promise<void>;
}

export interface Outbox {
  /** Sends on this channel, or keeps the Record until it is up. */
  toChannel(channel: Channel, bytes: Uint8Array, kind: OutboundKind): void;
  /** Sends on the first channel that is up (`channels` is asked again at every try: the Controller's MTPs may change). */
  toAnyOf(label: string, channels: () => readonly Channel[], bytes: Uint8Array, kind: OutboundKind): void;
  /** A channel came up: send what waited. */
  flush(): void;
  /** Records waiting now. */
  readonly queued: number;
}

interface QueuedRecord {
  readonly label: string;
  readonly channels: () => readonly Channel[];
  readonly bytes: Uint8Array;
  readonly kind: OutboundKind;
  /** Sends already tried and failed. */
  failures: number;
}

export function createOutbox(logger: Logger): Outbox {
  const queue: QueuedRecord[] = [];
  const enqueue = (item: QueuedRecord): void => {
    if (queue.length >= MAX_QUEUED_RECORDS) {
      const dropped = queue.shift()!;
      logger.warn({ to: dropped.label, kind: dropped.kind }, 'outbound queue full while the MTPs are down; dropped the oldest Record');
    }
    queue.push(item);
  };
  const publish = (item: QueuedRecord, skip: ReadonlySet<Channel> = new Set()): void => {
    const channel = item.channels().find((c) => !skip.has(c) && c.up());
    if (!channel) {
      enqueue(item);
      return;
    }
    logger.trace({ to: item.label, via: channel.key, kind: item.kind, bytes: item.bytes.length }, 'sending a Record');
    channel.send(item.bytes, item.kind).catch((error: unknown) => {
      if (error instanceof RecordTooLargeError) {
        logger.error({ to: item.label, via: channel.key, kind: item.kind, bytes: error.bytes, limit: error.limitBytes }, 'dropped a Record larger than the MTP carries');
        return;
      }
      item.failures += 1;
      if (item.failures >= MAX_SEND_ATTEMPTS) {
        logger.error({ err: error, to: item.label, via: channel.key, kind: item.kind, attempts: item.failures }, 'dropped a Record whose send failed on every try');
        return;
      }
      logger.warn({ err: error, to: item.label, via: channel.key }, 'send failed; trying the next MTP, else waiting for a connection');
      publish(item, new Set([...skip, channel]));
    });
  };
  return {
    toChannel(channel, bytes, kind) {
      publish({ label: channel.key, channels: () => [channel], bytes, kind, failures: 0 });
    },
    toAnyOf(label, channels, bytes, kind) {
      publish({ label, channels, bytes, kind, failures: 0 });
    },
    flush() {
      const waiting = queue.splice(0);
      for (const item of waiting) publish(item);
    },
    get queued() {
      return queue.length;
    },
  };
}
