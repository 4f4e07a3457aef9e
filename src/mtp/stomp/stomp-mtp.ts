// The agent's STOMP MTP (TR-369 STOMP binding, reference §4.5) over its own STOMP 1.2 client
// (stomp-connection.ts): the STOMP frame with `endpoint-id`, heart-beats, the broker's `subscribe-dest` or the
// configured destination, SEND with content-type application/vnd.bbf.usp.msg and reply-to-dest, MESSAGE in with
// its reply-to-dest, and the binding's randomized reconnect back-off after any failure or ERROR frame (R-STOMP.7/25).
import { readFile } from 'node:fs/promises';
import { backoffDelayMs } from '../backoff.ts';
import { RecordTooLargeError } from '../mtp.ts';
import type { MtpStatus, OutboundKind, StompConnectionStatus, StompMtp, StompMtpEvents, StompMtpOptions } from '../mtp.ts';
import { openStompConnection, StompConnectionError } from './stomp-connection.ts';
import type { StompSession } from './stomp-connection.ts';
import { frameLimitsFor } from './stomp-frame.ts';
import type { StompFrame } from './stomp-frame.ts';
import type { Logger } from '../../log.ts';

export const USP_STOMP_CONTENT_TYPE = 'application/vnd.bbf.usp.msg';
/** How long stop() waits for the broker's RECEIPT of DISCONNECT before closing anyway. */
const STOP_GRACE_MS = 1000;

interface Subscription {
  readonly id: string;
  readonly destination: string;
  readonly fromServer: boolean;
}

/** Both statuses of a failure: the generic one (Up/Down) and TR-181 STOMP.Connection.{i}.Status. */
export function statusesFor(error: StompConnectionError): [MtpStatus, StompConnectionStatus] {
  switch (error.kind) {
    case 'unreachable':
    case 'timeout':
    case 'closed':
    case 'heartbeat':
      return ['Error_BrokerUnreachable', 'ServerNotPresent'];
    case 'tls':
    case 'misconfigured':
      return ['Error_Misconfigured', 'Error_Misconfigured'];
    case 'refused': {
      // The ERROR frame answering the STOMP frame: RabbitMQ names a refused vhost, and otherwise the credentials.
      const text = error.message;
      if (/virtual host|vhost/i.test(text)) return ['Error_Misconfigured', 'Error_Misconfigured'];
      return ['Error_Misconfigured', 'Error_AuthenticationFailure'];
    }
    case 'server-error':
    case 'protocol':
      return ['Error', 'Error'];
    default: {
      const never: never = error.kind;
      return never;
    }
  }
}

function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

export function createStompMtp(options: StompMtpOptions, events: StompMtpEvents, logger: Logger): StompMtp {
  const random = options.random ?? Math.random;
  const limits = frameLimitsFor(options.maxRecordBytes);
  let status: MtpStatus = 'Disabled';
  let stompStatus: StompConnectionStatus = 'Disabled';
  let stopped = true;
  // Bumped by start() and stop(): an open() begun before a stop() (and a start()) goes no further.
  let generation = 0;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let session: StompSession | undefined;
  let subscription: Subscription | undefined;
  let subscriptionCounter = 0;
  let configuredDestination = options.destination;
  // Destination changes are applied one at a time, in order.
  let destinationChange: Promise<void> = Promise.resolve();
  let tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;

  const setStatus = (next: MtpStatus, nextStomp: StompConnectionStatus, detail?: string): void => {
    if (next === status && nextStomp === stompStatus) return;
    status = next;
    stompStatus = nextStomp;
    try {
      events.onStatus(next, nextStomp, detail);
    } catch (error) {
      logger.error({ err: error }, 'onStatus handler failed');
    }
  };

  const scheduleRetry = (): void => {
    if (stopped || retryTimer) return;
    attempt += 1;
    const delayMs = backoffDelayMs(attempt, options.retry, random);
    logger.info({ attempt, seconds: Number((delayMs / 1000).toFixed(2)) }, 'reconnecting to the STOMP server');
    const current = generation;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void open(current);
    }, delayMs);
    retryTimer.unref();
  };

  /** The session ended or could not be used: record why and retry later. */
  const lose = (lost: StompSession | undefined, error: StompConnectionError): void => {
    if (lost !== undefined && lost !== session) return;
    session = undefined;
    subscription = undefined;
    if (stopped) return;
    const [next, nextStomp] = statusesFor(error);
    logger.warn({ kind: error.kind, code: error.socketCode, err: error.message }, 'STOMP connection failed');
    setStatus(next, nextStomp, error.message);
    scheduleRetry();
  };

  const onMessage = (frame: StompFrame): void => {
    const destination = frame.headers.get('destination');
    const contentType = frame.headers.get('content-type');
    if (contentType !== undefined && mediaType(contentType) !== USP_STOMP_CONTENT_TYPE) {
      logger.warn({ destination, contentType }, `dropped a STOMP message with a content type other than ${USP_STOMP_CONTENT_TYPE}`);
      return;
    }
    if (frame.body.length > options.maxRecordBytes) {
      logger.warn({ destination, bytes: frame.body.length, limit: options.maxRecordBytes }, 'dropped an oversized STOMP message');
      return;
    }
    const replyTo = frame.headers.get('reply-to-dest');
    try {
      events.onRecord({ bytes: frame.body, replyTo: replyTo === '' ? undefined : replyTo, arrivedOn: destination });
    } catch (error) {
      logger.error({ err: error }, 'onRecord handler failed');
    }
  };

  const subscribe = async (active: StompSession, destination: string, fromServer: boolean): Promise<void> => {
    subscriptionCounter += 1;
    const id = `usp-${subscriptionCounter}`;
    try {
      await active.subscribe(destination, id);
    } catch {
      // Refused (ERROR frame) or no RECEIPT: the session is closed and its onClose has scheduled the retry (R-STOMP.19).
      return;
    }
    if (active !== session) return;
    subscription = { id, destination, fromServer };
    attempt = 0;
    setStatus('Connected', 'Enabled');
    logger.info({ destination, fromServer }, 'subscribed to the STOMP destination');
    try {
      events.onConnected({ subscribedDestination: destination, fromServer });
    } catch (error) {
      logger.error({ err: error }, 'onConnected handler failed');
    }
  };

  /** R-STOMP.16: nowhere to receive answers, so no session: disconnect and retry (the destination may be set meanwhile). */
  const noDestination = (active: StompSession): void => {
    const reason = 'no STOMP destination: the broker sent no subscribe-dest and LocalAgent.MTP.{i}.STOMP.Destination is empty';
    logger.error(`disconnecting: ${reason}`);
    session = undefined;
    subscription = undefined;
    void active.disconnect();
    setStatus('Error_Misconfigured', 'Error_Misconfigured', reason);
    scheduleRetry();
  };

  const open = async (openedIn: number): Promise<void> => {
    const superseded = (): boolean => stopped || openedIn !== generation;
    if (superseded()) return;
    if (options.requireTls && options.password !== undefined && !options.tls) {
      // The data model refuses such settings; this holds whatever led here. No retry: only new settings can help.
      const reason = 'the config file gives the STOMP connection TLS: the password is not sent without it';
      logger.error({ host: options.host, port: options.port }, `not connecting: ${reason}`);
      setStatus('Error_Misconfigured', 'Error_Misconfigured', reason);
      return;
    }
    setStatus('Connecting', 'Connecting');
    try {
      if (options.tls && !tls) {
        const files = options.tls;
        tls = {
          ...(files.caFile && { ca: await readFile(files.caFile) }),
          ...(files.certFile && { cert: await readFile(files.certFile) }),
          ...(files.keyFile && { key: await readFile(files.keyFile) }),
        };
      }
    } catch (error) {
      if (superseded()) return;
      setStatus('Error_Misconfigured', 'Error_Misconfigured', `cannot read a TLS file: ${(error as Error).message}`);
      scheduleRetry();
      return;
    }
    if (superseded()) return;
    // A session that ends between CONNECTED and this function resuming (ERROR right behind CONNECTED) is seen here.
    let endedEarly: StompConnectionError | undefined;
    let opened: StompSession | undefined;
    try {
      opened = await openStompConnection(
        {
          host: options.host,
          port: options.port,
          tls,
          virtualHost: options.virtualHost,
          login: options.username,
          passcode: options.password,
          passcodeRequiresTls: options.requireTls ?? false,
          heartbeats: options.heartbeats,
          connectHeaders: { 'endpoint-id': options.endpointId },
          limits,
        },
        {
          // Only the current session's: one being closed by stop() or a failure delivers nothing more.
          onMessage: (frame) => {
            if (opened !== undefined && opened === session) onMessage(frame);
          },
          onClose: (error) => {
            const ended = error ?? new StompConnectionError('closed', 'the STOMP session was closed');
            if (opened === undefined) endedEarly = ended;
            else lose(opened, ended);
          },
        },
      );
    } catch (error) {
      if (superseded()) return;
      lose(undefined, error instanceof StompConnectionError ? error : new StompConnectionError('unreachable', (error as Error).message));
      return;
    }
    if (superseded()) {
      opened.destroy();
      return;
    }
    if (endedEarly) {
      lose(undefined, endedEarly);
      return;
    }
    session = opened;
    logger.info({ host: options.host, port: options.port, server: opened.connectedHeaders.get('server'), heartbeat: opened.heartbeat }, 'connected to the STOMP server');
    const serverDestination = opened.connectedHeaders.get('subscribe-dest');
    if (serverDestination) {
      await subscribe(opened, serverDestination, true);
    } else if (configuredDestination) {
      await subscribe(opened, configuredDestination, false);
    } else {
      noDestination(opened);
    }
  };

  const changeDestination = async (): Promise<void> => {
    const active = session;
    const current = subscription;
    if (!active || !current || current.fromServer || current.destination === configuredDestination) return;
    if (configuredDestination === '') {
      noDestination(active);
      return;
    }
    try {
      await active.unsubscribe(current.id);
    } catch {
      // Lost: the next connection subscribes to the new destination.
      return;
    }
    if (active !== session) return;
    logger.info({ destination: current.destination }, 'unsubscribed from the old STOMP destination');
    await subscribe(active, configuredDestination, false);
  };

  return {
    get status() {
      return status;
    },
    get stompStatus() {
      return stompStatus;
    },
    get maxRecordBytes() {
      return options.maxRecordBytes;
    },
    start() {
      if (!stopped) return;
      stopped = false;
      generation += 1;
      attempt = 0;
      void open(generation);
    },
    async send(destination: string, bytes: Uint8Array, kind: OutboundKind) {
      if (bytes.length > options.maxRecordBytes) throw new RecordTooLargeError(bytes.length, options.maxRecordBytes);
      // A SEND without a destination is a protocol error that makes the broker drop the whole connection.
      if (destination === '') throw new Error('a STOMP SEND needs a destination');
      const active = session;
      const current = subscription;
      if (!active || !current) throw new Error('STOMP is not connected');
      logger.trace({ destination, kind, bytes: bytes.length }, 'send');
      await active.send(destination, bytes, { 'content-type': USP_STOMP_CONTENT_TYPE, 'reply-to-dest': current.destination });
    },
    setDestination(destination: string) {
      configuredDestination = destination;
      destinationChange = destinationChange.then(changeDestination, changeDestination);
    },
    async stop() {
      stopped = true;
      generation += 1;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      const active = session;
      session = undefined;
      subscription = undefined;
      if (active) {
        await Promise.race([active.disconnect(), new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref())]);
        active.destroy();
      }
      setStatus('Disabled', 'Disabled');
    },
  };
}
