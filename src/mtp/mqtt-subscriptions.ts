// What the MQTT client is subscribed to (TR-369 R-MQTT.15/17/34, TR-181 Device.MQTT.Client.{i}.Subscription.{i}.):
// the agent's own topics (its reply-to topic, CONNACK `subscribe-topic`s) and the enabled rows of the Subscription
// table. At every connect all of them go in one SUBSCRIBE; while connected, a change of the rows sends SUBSCRIBE or
// UNSUBSCRIBE for just the difference. Each row's Status follows the broker's SUBACK/UNSUBACK.
//
// The agent's own topics are not rows: a Controller cannot disable them, and disabling or deleting a row with the
// same topic leaves the agent subscribed to it.
import type { Logger } from '../log.ts';

export type Qos = 0 | 1 | 2;

/** TR-181 Device.MQTT.Client.{i}.Subscription.{i}.Status. */
export type SubscriptionStatus = 'Unsubscribed' | 'Subscribed' | 'Subscribing' | 'Unsubscribing' | 'Error';

export interface TopicSubscription {
  readonly topic: string;
  readonly qos: Qos;
}

/** A row of the Subscription table: disabled rows are listed too, so that their Status can be told. */
export interface SubscriptionRow extends TopicSubscription {
  readonly enabled: boolean;
}

/** The two requests the set makes of a live MQTT connection. Reason codes as MQTT defines them: below 0x80 is success. */
export interface SubscribePort {
  /** One SUBSCRIBE; the SUBACK reason code (granted QoS, or 0x80 and above) per topic. Rejects if no SUBACK came. */
  subscribe(entries: readonly TopicSubscription[]): Promise<ReadonlyMap<string, number>>;
  /** One UNSUBSCRIBE; the UNSUBACK reason code per topic (MQTT 3.1.1 has none: an empty map means success). */
  unsubscribe(topics: readonly string[]): Promise<ReadonlyMap<string, number>>;
}

export interface SubscriptionSet {
  /** The Subscription table changed (or is first known): reconciled at once when connected. */
  configure(rows: readonly SubscriptionRow[]): void;
  /** A new connection: subscribes the agent's own topics and every enabled row in one SUBSCRIBE. Resolves with how many were granted. */
  connect(port: SubscribePort, own: readonly TopicSubscription[]): Promise<number>;
  /** The connection is gone: nothing is subscribed any more (clean session). */
  disconnect(): void;
  /** Status of the row with this topic. */
  status(topic: string): SubscriptionStatus;
  /** Resolves when every SUBSCRIBE/UNSUBSCRIBE asked for so far has been answered (tests). */
  settled(): Promise<void>;
}

const FAILED = 0x80;

export function createSubscriptionSet(onStatus: (topic: string, status: SubscriptionStatus) => void, logger: Logger): SubscriptionSet {
  let rows = new Map<string, Qos>();
  let rowTopics = new Set<string>();
  let own = new Map<string, Qos>();
  let port: SubscribePort | undefined;
  // On the current connection: what the broker granted, what it refused (at that QoS), what is being asked now,
  // and which UNSUBSCRIBEs it refused.
  const granted = new Map<string, Qos>();
  const refused = new Map<string, Qos>();
  const pending = new Map<string, 'Subscribing' | 'Unsubscribing'>();
  const unsubscribeFailed = new Set<string>();
  const told = new Map<string, SubscriptionStatus>();
  // SUBSCRIBE/UNSUBSCRIBE exchanges run one after the other, so that each starts from what the broker last said.
  let queue: Promise<void> = Promise.resolve();

  const status = (topic: string): SubscriptionStatus => {
    const asking = pending.get(topic);
    if (asking) return asking;
    if (rows.has(topic)) {
      if (granted.has(topic)) return 'Subscribed';
      if (refused.has(topic)) return 'Error';
      // While connected, its SUBSCRIBE is on its way.
      return port ? 'Subscribing' : 'Unsubscribed';
    }
    // Its UNSUBSCRIBE is on its way (an own topic stays subscribed, but no longer for this row).
    if (granted.has(topic) && !own.has(topic)) return 'Unsubscribing';
    return unsubscribeFailed.has(topic) ? 'Error' : 'Unsubscribed';
  };

  /** Tells every row whose Status changed since it was last told. */
  const publish = (): void => {
    for (const topic of new Set([...rowTopics, ...told.keys()])) {
      const now = status(topic);
      if ((told.get(topic) ?? 'Unsubscribed') === now) continue;
      if (now === 'Unsubscribed') told.delete(topic);
      else told.set(topic, now);
      try {
        onStatus(topic, now);
      } catch (error) {
        logger.error({ err: error }, 'subscription status handler failed');
      }
    }
  };

  /** Own topics and enabled rows; a topic that is both is subscribed at the higher QoS. */
  const wanted = (): Map<string, Qos> => {
    const all = new Map(own);
    for (const [topic, qos] of rows) all.set(topic, Math.max(qos, all.get(topic) ?? 0) as Qos);
    return all;
  };

  const reconcile = async (current: SubscribePort): Promise<void> => {
    if (port !== current) return;
    const want = wanted();
    const toSubscribe = [...want].filter(([topic, qos]) => granted.get(topic) !== qos && refused.get(topic) !== qos).map(([topic, qos]) => ({ topic, qos }));
    const toUnsubscribe = [...granted.keys()].filter((topic) => !want.has(topic));
    for (const topic of [...refused.keys()]) if (!want.has(topic)) refused.delete(topic);
    for (const { topic } of toSubscribe) {
      pending.set(topic, 'Subscribing');
      unsubscribeFailed.delete(topic);
    }
    for (const topic of toUnsubscribe) pending.set(topic, 'Unsubscribing');
    publish();
    if (toSubscribe.length > 0) {
      let codes: ReadonlyMap<string, number>;
      try {
        codes = await current.subscribe(toSubscribe);
      } catch (error) {
        if (port !== current) return;
        logger.warn({ err: error, topics: toSubscribe.map((entry) => entry.topic) }, 'MQTT SUBSCRIBE failed');
        codes = new Map();
      }
      if (port !== current) return;
      for (const { topic, qos } of toSubscribe) {
        pending.delete(topic);
        const code = codes.get(topic) ?? FAILED;
        if (code < FAILED) {
          granted.set(topic, qos);
          refused.delete(topic);
        } else {
          logger.warn({ topic, reasonCode: code }, 'the broker refused a subscription');
          granted.delete(topic);
          refused.set(topic, qos);
        }
      }
      publish();
    }
    if (toUnsubscribe.length > 0) {
      let codes: ReadonlyMap<string, number> | undefined;
      try {
        codes = await current.unsubscribe(toUnsubscribe);
      } catch (error) {
        if (port !== current) return;
        logger.warn({ err: error, topics: toUnsubscribe }, 'MQTT UNSUBSCRIBE failed');
      }
      if (port !== current) return;
      for (const topic of toUnsubscribe) {
        pending.delete(topic);
        granted.delete(topic);
        // 0x11 "No subscription existed" is what was wanted.
        if (codes === undefined || (codes.get(topic) ?? 0) >= FAILED) unsubscribeFailed.add(topic);
      }
      publish();
    }
  };

  const enqueue = (work: () => Promise<void>): Promise<void> => {
    const next = queue.then(work).catch((error: unknown) => {
      logger.error({ err: error }, 'MQTT subscription bookkeeping failed');
    });
    queue = next;
    return next;
  };

  return {
    configure(next) {
      rowTopics = new Set(next.map((row) => row.topic));
      rows = new Map(next.filter((row) => row.enabled).map((row) => [row.topic, row.qos]));
      // Only rows that still exist keep an UNSUBSCRIBE failure: the set stays as small as the table.
      for (const topic of [...unsubscribeFailed]) if (!rowTopics.has(topic)) unsubscribeFailed.delete(topic);
      publish();
      const current = port;
      if (current) void enqueue(() => reconcile(current));
    },
    async connect(current, ownTopics) {
      port = current;
      own = new Map(ownTopics.map((entry) => [entry.topic, entry.qos]));
      granted.clear();
      refused.clear();
      pending.clear();
      unsubscribeFailed.clear();
      await enqueue(() => reconcile(current));
      return port === current ? granted.size : 0;
    },
    disconnect() {
      port = undefined;
      granted.clear();
      refused.clear();
      pending.clear();
      unsubscribeFailed.clear();
      publish();
    },
    status,
    settled: () => queue,
  };
}
