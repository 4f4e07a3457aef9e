// Subscriptions and Notify (TR-369 §Notifications, reference §2.12): matches data-model changes against
// Device.LocalAgent.Subscription.{i} rows, sends Notify messages, retries those with NotifRetry until a
// NotifyResp arrives (randomized back-off), expires subscriptions (TimeToLive), and drives Periodic!.
import type { usp } from '../usp/generated/usp.js';
import { parsePath } from '../usp/path.ts';
import type { ParsedPath } from '../usp/path.ts';
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { resolvePath, collectSubtree } from '../datamodel/resolve.ts';
import { isTable } from '../datamodel/instances.ts';
import { UNKNOWN_TIME } from '../usp/values.ts';
import { patternCovers, patternNamesRow } from './path-match.ts';
import type { OperationResult } from './requests.ts';
import type { Logger } from '../log.ts';
import { fullAccess } from '../access/access.ts';
import type { Access, AccessControl } from '../access/access.ts';
import { NOTIFY } from '../access/permission-bits.ts';
import { readVisibility } from './access-checks.ts';

export const SUBSCRIPTION_TABLE = 'Device.LocalAgent.Subscription.';
export const CONTROLLER_TABLE = 'Device.LocalAgent.Controller.';
/** Longer timers are re-armed on the way (Node caps a timeout at 2^31−1 ms, ~24.8 days). */
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;
const PERIODIC_PARAMS = new Set(['PeriodicNotifInterval', 'PeriodicNotifTime', 'Enable']);

type NotifType = 'ValueChange' | 'ObjectCreation' | 'ObjectDeletion' | 'OperationComplete' | 'Event';

/** Sends a Notify to a Controller (queued while the MTP is down). Returns false if it has no usable MTP. */
export type NotifySender = (controller: DmObject, msgId: string, notify: usp.Notify.$Properties) => boolean;

export interface SubscriptionServiceOptions {
  readonly dm: DataModel;
  readonly send: NotifySender;
  readonly logger: Logger;
  /** What each recipient may be told about (ControllerTrust n bits); everything when absent (unit tests). */
  readonly accessControl?: AccessControl;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Only for tests: how often timers are checked (ms). */
  readonly tickMs?: number;
}

export interface SubscriptionService {
  /** Starts timers and sends Boot! to subscribers. */
  start(boot: { cause: string; commandKey?: string; firmwareUpdated?: boolean }): void;
  stop(): void;
  /** A NotifyResp arrived: stop retrying that Notify. */
  acknowledge(msgId: string): void;
  /** Sent only to the Controller that ran the command (`originator`), if it subscribed to it. */
  operationComplete(obj: DmObject, commandName: string, commandKey: string, result: OperationResult, originator: string): void;
  /** Sends an OnBoardRequest to a Controller and retries it until a NotifyResp arrives (R-NOT.5/6). */
  sendOnBoardRequest(controller: DmObject, info: { oui: string; productClass: string; serialNumber: string; versions: string }): void;
  /** Number of Notify messages waiting for a NotifyResp (tests, diagnostics). */
  readonly pendingRetries: number;
}

interface PendingNotify {
  readonly msgId: string;
  readonly controller: DmObject;
  readonly notify: usp.Notify.$Properties;
  readonly expiresAt: number | undefined;
  attempt: number;
  nextAt: number;
}

export function createSubscriptionService(options: SubscriptionServiceOptions): SubscriptionService {
  const { dm, send, logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const parsedReferences = new WeakMap<DmObject, { text: string; paths: ParsedPath[] }>();
  const pending = new Map<string, PendingNotify>();
  let startedAt = now();
  let counter = 0;
  let timer: NodeJS.Timeout | undefined;
  let removeListener: (() => void) | undefined;

  const nextMsgId = (): string => `berth-notify-${startedAt.toString(36)}-${++counter}`;

  const referencesOf = (subscription: DmObject): ParsedPath[] => {
    const text = dm.read(subscription, 'ReferenceList');
    const cached = parsedReferences.get(subscription);
    if (cached?.text === text) return cached.paths;
    const paths: ParsedPath[] = [];
    for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      try {
        paths.push(parsePath(item));
      } catch {
        logger.warn({ subscription: subscription.path, reference: item }, 'subscription reference is not a valid path; ignored');
      }
    }
    parsedReferences.set(subscription, { text, paths });
    return paths;
  };

  const recipientOf = (subscription: DmObject): DmObject | undefined => {
    const controller = dm.lookup(dm.read(subscription, 'Recipient'));
    return controller && dm.read(controller, 'Enable') === 'true' ? controller : undefined;
  };

  const isLive = (subscription: DmObject): boolean => {
    if (dm.read(subscription, 'Enable') !== 'true') return false;
    const ttl = Number(dm.read(subscription, 'TimeToLive'));
    return ttl === 0 || Date.parse(dm.read(subscription, 'CreationDate')) + ttl * 1000 > now();
  };

  /**
   * Every live subscription of `type` whose ReferenceList covers the element and whose recipient may be told
   * about it (`permitted`, with the recipient's access: the n bit, and read access to what the notification
   * carries), with its recipient and that access. Permissions are checked at each notification, so a role change
   * applies to the next one.
   */
  const matching = (
    type: NotifType,
    covers: (path: ParsedPath) => boolean,
    permitted: (access: Access) => boolean,
    onlyRecipient?: DmObject,
  ): { subscription: DmObject; controller: DmObject; access: Access }[] => {
    const out: { subscription: DmObject; controller: DmObject; access: Access }[] = [];
    const accessOf = new Map<DmObject, Access | undefined>();
    for (const subscription of dm.table(SUBSCRIPTION_TABLE).rows.values()) {
      if (dm.read(subscription, 'NotifType') !== type || !isLive(subscription)) continue;
      const controller = recipientOf(subscription);
      if (!controller || (onlyRecipient && controller !== onlyRecipient)) continue;
      if (!referencesOf(subscription).some(covers)) continue;
      if (!accessOf.has(controller)) {
        const access = options.accessControl?.forController(controller) ?? fullAccess(dm);
        accessOf.set(controller, permitted(access) ? access : undefined);
      }
      const access = accessOf.get(controller);
      if (access) out.push({ subscription, controller, access });
    }
    return out;
  };

  const deliver = (subscription: DmObject, controller: DmObject, body: Omit<usp.Notify.$Properties, 'subscriptionId' | 'sendResp'>): void => {
    const sendResp = dm.read(subscription, 'NotifRetry') === 'true';
    const notify: usp.Notify.$Properties = { subscriptionId: dm.read(subscription, 'ID'), sendResp, ...body };
    const msgId = nextMsgId();
    if (!send(controller, msgId, notify)) logger.warn({ controller: controller.path }, 'Controller has no enabled MQTT MTP; notification not sent');
    if (sendResp) {
      const expiration = Number(dm.read(subscription, 'NotifExpiration'));
      trackRetry(msgId, controller, notify, expiration > 0 ? now() + expiration * 1000 : undefined);
    }
  };

  const trackRetry = (msgId: string, controller: DmObject, notify: usp.Notify.$Properties, expiresAt: number | undefined): void => {
    const entry: PendingNotify = { msgId, controller, notify, expiresAt, attempt: 1, nextAt: 0 };
    entry.nextAt = now() + retryDelayMs(controller, entry.attempt);
    pending.set(msgId, entry);
  };

  /** Retry n waits a random time in [m·(k/1000)^(n−1), m·(k/1000)^n] s, n capped at 10 (R-NOT.3). */
  const retryDelayMs = (controller: DmObject, attempt: number): number => {
    const m = Number(dm.read(controller, 'USPNotifRetryMinimumWaitInterval'));
    const k = Number(dm.read(controller, 'USPNotifRetryIntervalMultiplier')) / 1000;
    const n = Math.min(attempt, 10);
    const low = m * k ** (n - 1);
    const high = m * k ** n;
    return (low + random() * (high - low)) * 1000;
  };

  const bootParameterMap = (controller: DmObject, access: Access): string => {
    const map: Record<string, string> = {};
    const visibility = readVisibility(access);
    for (const bootParameter of controller.tables.get('BootParameter')?.rows.values() ?? []) {
      if (dm.read(bootParameter, 'Enable') !== 'true') continue;
      try {
        // Only what the Controller may read goes into its ParameterMap.
        const resolution = resolvePath(dm, dm.read(bootParameter, 'ParameterName'), visibility);
        for (const node of resolution.nodes) {
          if (isTable(node)) continue;
          const element = resolution.element;
          if (element !== undefined) {
            if (access.canReadParam(node, element)) map[`${node.path}${element}`] = access.readParam(node, element);
          } else {
            for (const obj of collectSubtree(node, 0)) {
              if (obj.table && !access.canSeeRow(obj)) continue;
              for (const name of obj.schema.params.keys()) if (access.canReadParam(obj, name)) map[`${obj.path}${name}`] = access.readParam(obj, name);
            }
          }
        }
      } catch {
        // A BootParameter naming something that does not exist contributes nothing (TR-181).
      }
    }
    return JSON.stringify(map);
  };

  const deliverEvent = (obj: DmObject, eventName: string, args: Readonly<Record<string, string>>, scope?: DmObject, onlyRecipient?: DmObject): void => {
    const permitted = (access: Access): boolean => (access.commandEventBits(obj, eventName) & NOTIFY) !== 0 && (scope === undefined || access.canSeeRow(scope));
    for (const { subscription, controller, access } of matching('Event', (path) => patternCovers(dm, path, obj, eventName), permitted, onlyRecipient)) {
      const params = eventName === 'Boot!' && obj === dm.root ? { ...args, ParameterMap: bootParameterMap(controller, access) } : args;
      deliver(subscription, controller, { event: { objPath: obj.path, eventName, params } });
    }
  };

  const tick = (): void => {
    const t = now();
    // Retries
    for (const entry of pending.values()) {
      if (entry.expiresAt !== undefined && t >= entry.expiresAt) {
        pending.delete(entry.msgId);
        logger.info({ msgId: entry.msgId }, 'notification expired before a NotifyResp arrived');
        continue;
      }
      if (entry.controller.deleted) {
        pending.delete(entry.msgId);
        continue;
      }
      if (t >= entry.nextAt) {
        entry.attempt += 1;
        entry.nextAt = t + retryDelayMs(entry.controller, entry.attempt);
        send(entry.controller, entry.msgId, entry.notify);
      }
    }
    // TimeToLive
    const expired = [...dm.table(SUBSCRIPTION_TABLE).rows.values()].filter((s) => {
      const ttl = Number(dm.read(s, 'TimeToLive'));
      return ttl > 0 && Date.parse(dm.read(s, 'CreationDate')) + ttl * 1000 <= t;
    });
    if (expired.length > 0) dm.update((tx) => { expired.forEach((s) => { tx.deleteRow(s); }); });
  };

  // Periodic! (TR-181 Controller.{i}.PeriodicNotifInterval and PeriodicNotifTime): each Controller's events fall on
  // its grid PeriodicNotifTime + k·PeriodicNotifInterval (the agent's start when the time is unknown), each on its
  // own timer, never in between: a boundary that passed while the agent was busy or suspended is not made up later,
  // and a new interval or time takes effect from the next boundary of the new grid.
  const periodicDue = new Map<DmObject, { due: number; settings: string }>();
  let periodicTimer: NodeJS.Timeout | undefined;
  let periodicRunning = false;

  const periodicSettings = (controller: DmObject): string => `${dm.read(controller, 'PeriodicNotifInterval')}|${dm.read(controller, 'PeriodicNotifTime')}`;

  /** The first grid boundary strictly after `after`. */
  const nextBoundary = (controller: DmObject, after: number): number => {
    const interval = Number(dm.read(controller, 'PeriodicNotifInterval')) * 1000;
    const referenceText = dm.read(controller, 'PeriodicNotifTime');
    const reference = referenceText === UNKNOWN_TIME ? startedAt : Date.parse(referenceText);
    return reference + (Math.floor((after - reference) / interval) + 1) * interval;
  };

  const schedulePeriodic = (): void => {
    if (periodicTimer) clearTimeout(periodicTimer);
    periodicTimer = undefined;
    if (!periodicRunning) return;
    const t = now();
    let earliest = Infinity;
    const enabled = new Set<DmObject>();
    for (const controller of dm.table(CONTROLLER_TABLE).rows.values()) {
      if (dm.read(controller, 'Enable') !== 'true') continue;
      enabled.add(controller);
      const settings = periodicSettings(controller);
      let entry = periodicDue.get(controller);
      if (entry?.settings !== settings) {
        entry = { due: nextBoundary(controller, t), settings };
        periodicDue.set(controller, entry);
      }
      earliest = Math.min(earliest, entry.due);
    }
    for (const controller of [...periodicDue.keys()]) if (!enabled.has(controller)) periodicDue.delete(controller);
    if (earliest === Infinity) return;
    periodicTimer = setTimeout(firePeriodic, Math.min(Math.max(0, earliest - t), MAX_TIMER_MS));
    periodicTimer.unref();
  };

  const firePeriodic = (): void => {
    const t = now();
    for (const [controller, entry] of periodicDue) {
      if (t < entry.due || controller.deleted) continue;
      entry.due = nextBoundary(controller, t);
      try {
        deliverEvent(dm.object('Device.LocalAgent.'), 'Periodic!', {}, undefined, controller);
      } catch (error) {
        logger.error({ err: error, controller: controller.path }, 'Periodic! failed');
      }
    }
    schedulePeriodic();
  };

  return {
    start(boot) {
      startedAt = now();
      removeListener = dm.addListener({
        valueChanged(obj, name, value) {
          if (obj.table?.path === CONTROLLER_TABLE && PERIODIC_PARAMS.has(name)) schedulePeriodic();
          const permitted = (access: Access): boolean => (access.paramBits(obj, name) & NOTIFY) !== 0 && (!obj.table || access.canSeeRow(obj));
          for (const { subscription, controller, access } of matching('ValueChange', (path) => patternCovers(dm, path, obj, name), permitted)) {
            // A secured value is sent as the Controller would read it ("" without a SecuredRoles role).
            const paramValue = obj.schema.params.get(name)?.decl.secured ? access.readParam(obj, name) : value;
            deliver(subscription, controller, { valueChange: { paramPath: `${obj.path}${name}`, paramValue } });
          }
        },
        objectCreated(row) {
          if (row.table?.path === CONTROLLER_TABLE) schedulePeriodic();
          const permitted = (access: Access): boolean => (access.objectBits(row) & NOTIFY) !== 0 && access.canSeeRow(row);
          for (const { subscription, controller, access } of matching('ObjectCreation', (path) => patternNamesRow(dm, path, row), permitted)) {
            const uniqueKeys = Object.fromEntries(Object.entries(dm.uniqueKeys(row)).filter(([key]) => access.canReadParam(row, key)));
            deliver(subscription, controller, { objCreation: { objPath: row.path, uniqueKeys } });
          }
        },
        objectDeleted(row) {
          if (row.table?.path === CONTROLLER_TABLE) schedulePeriodic();
          const permitted = (access: Access): boolean => (access.instanceBits(row) & NOTIFY) !== 0;
          for (const { subscription, controller } of matching('ObjectDeletion', (path) => patternNamesRow(dm, path, row), permitted)) {
            deliver(subscription, controller, { objDeletion: { objPath: row.path } });
          }
        },
        event(obj, eventName, args, scope) {
          deliverEvent(obj, eventName, args, scope);
        },
      });
      timer = setInterval(() => {
        try {
          tick();
        } catch (error) {
          logger.error({ err: error }, 'subscription timer failed');
        }
      }, options.tickMs ?? 1000);
      timer.unref();
      periodicRunning = true;
      schedulePeriodic();
      dm.emitEvent(dm.root, 'Boot!', {
        Cause: boot.cause,
        CommandKey: boot.commandKey ?? '',
        FirmwareUpdated: String(boot.firmwareUpdated ?? false),
        ParameterMap: '{}',
      });
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      periodicRunning = false;
      schedulePeriodic();
      removeListener?.();
      removeListener = undefined;
    },
    acknowledge(msgId) {
      pending.delete(msgId);
    },
    operationComplete(obj, commandName, commandKey, result, originator) {
      // Only the Controller that ran the command hears how it ended: another tenant subscribed to InstallDU() must
      // not learn what this one installs (the outcome of DU operations reaches others through DUStateChange!, scoped).
      const requester = [...dm.table(CONTROLLER_TABLE).rows.values()].find((c) => dm.read(c, 'EndpointID') === originator);
      if (!requester) return;
      const permitted = (access: Access): boolean => (access.commandEventBits(obj, commandName) & NOTIFY) !== 0;
      for (const { subscription, controller } of matching('OperationComplete', (path) => patternCovers(dm, path, obj, commandName), permitted, requester)) {
        const outcome = 'outputArgs' in result ? { reqOutputArgs: { outputArgs: { ...result.outputArgs } } } : { cmdFailure: { errCode: result.errCode, errMsg: result.errMsg } };
        deliver(subscription, controller, { operComplete: { objPath: obj.path, commandName, commandKey, ...outcome } });
      }
    },
    sendOnBoardRequest(controller, info) {
      const notify: usp.Notify.$Properties = {
        subscriptionId: '',
        sendResp: true,
        onBoardReq: { oui: info.oui, productClass: info.productClass, serialNumber: info.serialNumber, agentSupportedProtocolVersions: info.versions },
      };
      const msgId = nextMsgId();
      send(controller, msgId, notify);
      trackRetry(msgId, controller, notify, undefined);
    },
    get pendingRetries() {
      return pending.size;
    },
  };
}
