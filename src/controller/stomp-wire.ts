// A Controller's STOMP wire (TR-369 STOMP binding): a STOMP 1.2 session to the broker with the Controller's
// endpoint-id, subscribed to its own destination; Records go to the agent's destination with reply-to-dest.
import { readFileSync } from 'node:fs';
import { openStompConnection } from '../mtp/stomp/stomp-connection.ts';
import { frameLimitsFor } from '../mtp/stomp/stomp-frame.ts';
import { USP_STOMP_CONTENT_TYPE } from '../mtp/stomp/stomp-mtp.ts';
import type { ControllerWire } from './controller-session.ts';

/** Records kept for the first listener. */
const EARLY_RECORDS = 100;

export interface StompWireOptions {
  /** stomp://host:port or stomps://host:port */
  readonly brokerUrl: string;
  readonly endpointId: string;
  readonly agentDestination: string;
  readonly replyDestination: string;
  readonly virtualHost?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly maxRecordBytes?: number;
}

export async function connectStompWire(options: StompWireOptions): Promise<ControllerWire> {
  const url = new URL(options.brokerUrl);
  const secure = url.protocol === 'stomps:';
  if (!secure && url.protocol !== 'stomp:') throw new Error(`${options.brokerUrl} is not a STOMP broker URL (stomp:// or stomps://)`);
  const listeners: ((bytes: Uint8Array) => void)[] = [];
  // Records that arrive before anyone listens (the agent's STOMPConnectRecord waiting in the queue) are kept for the first listener.
  const early: Uint8Array[] = [];
  const session = await openStompConnection(
    {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? (secure ? 61614 : 61613) : Number(url.port),
      tls: secure
        ? {
            ...(options.caFile !== undefined && { ca: readFileSync(options.caFile) }),
            ...(options.certFile !== undefined && { cert: readFileSync(options.certFile) }),
            ...(options.keyFile !== undefined && { key: readFileSync(options.keyFile) }),
          }
        : undefined,
      virtualHost: options.virtualHost,
      login: options.username,
      passcode: options.password,
      connectHeaders: { 'endpoint-id': options.endpointId },
      limits: frameLimitsFor(options.maxRecordBytes ?? 5 * 1024 * 1024),
    },
    {
      onMessage: (frame) => {
        if (listeners.length === 0 && early.length < EARLY_RECORDS) early.push(frame.body);
        for (const listener of listeners) listener(frame.body);
      },
      onClose: () => undefined,
    },
  );
  await session.subscribe(options.replyDestination, 'controller');
  return {
    description: `STOMP destination ${options.agentDestination}`,
    replyAddress: options.replyDestination,
    send: (bytes) => session.send(options.agentDestination, bytes, { 'content-type': USP_STOMP_CONTENT_TYPE, 'reply-to-dest': options.replyDestination }),
    onBytes: (listener) => {
      listeners.push(listener);
      for (const bytes of early.splice(0)) listener(bytes);
    },
    close: () => session.disconnect().catch(() => { session.destroy(); }),
  };
}
