// The agent's WebSocket MTP in the client role (TR-369 §WebSocket Binding): it dials one Controller's server
// (Controller.{i}.MTP.{j}.WebSocket.Host/Port/Path, wss when EnableEncryption) and keeps one session with it.
//
//   * Opening handshake: `Sec-WebSocket-Protocol: v1.usp` and `?eid=<agent Endpoint ID>` (R-WS.10/10b/10c). An
//     answer without exactly `v1.usp` is no session (R-WS.12): closed, and retried as a failure. A server that
//     echoes the deprecated `bbf-usp-protocol` extension (R-WS.11a) must name this Controller; its absence is fine
//     (R-WS.11b).
//   * TLS: the Controller's certificate is checked against caFile (else the system CAs) and the host name, and when
//     it carries `urn:bbf:usp:id:` SAN URIs one of them must be this Controller's Endpoint ID (R-SEC.0a). The
//     agent's client certificate goes along when configured.
//   * Retry (R-WS.19–21): after a failed dial or a lost session, retry n waits a random time in
//     [m·(k/1000)^(n−1), m·(k/1000)^n]; CurrentRetryCount counts the failures since the last session and is 0
//     again once one opens. Reset() drops the session and dials at once from 0.
import { readFile } from 'node:fs/promises';
import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';
import type { IncomingMessage } from 'node:http';
import { backoffDelayMs } from '../backoff.ts';
import { RecordTooLargeError } from '../mtp.ts';
import { endpointIdsFromSubjectAltName } from './certificate-endpoint-ids.ts';
import { pathWithEndpointId, uspExtensionOffer, withoutUspExtension } from './endpoint-id-query.ts';
import { attachUspSession, callHandler, CloseCode, USP_SUBPROTOCOL } from './usp-session.ts';
import type { UspSession } from './usp-session.ts';
import type { MtpStatus, WebSocketClientEvents, WebSocketClientMtp, WebSocketClientOptions } from '../mtp.ts';
import type { Logger } from '../../log.ts';
import { BerthError } from '../../errors/berth-error.ts';
import { isTlsFailure } from '../tls-failure.ts';

/** How long the TCP connect, TLS and HTTP upgrade may take together before the dial counts as failed. */
export const CLIENT_HANDSHAKE_TIMEOUT_MS = 30_000;
/** How long a closing handshake may take before the socket is dropped. */
const CLOSE_TIMEOUT_MS = 5_000;

/** The URL dialled: `ws[s]://host:port/path?eid=<percent-encoded agent Endpoint ID>`. */
export function webSocketClientUrl(options: Pick<WebSocketClientOptions, 'host' | 'port' | 'path' | 'encryption' | 'agentEndpointId'>): string {
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  return `${options.encryption ? 'wss' : 'ws'}://${host}:${options.port}${pathWithEndpointId(options.path, options.agentEndpointId)}`;
}

/** A refusal of the handshake that a retry with the same settings will meet again. */
class HandshakeRefusal extends BerthError {
  constructor(message: string) {
    super('WEBSOCKET_HANDSHAKE_REFUSED', message);
    this.name = 'HandshakeRefusal';
  }
}

function classify(error: Error & { code?: string }): MtpStatus {
  if (error instanceof HandshakeRefusal) return 'Error_Misconfigured';
  const code = error.code ?? '';
  if (isTlsFailure(code) || code === 'ERR_INVALID_URL') return 'Error_Misconfigured';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(code)) return 'Error_BrokerUnreachable';
  // `ws`'s own handshake failures: an HTTP status instead of 101, a bad Accept, the subprotocol, a timeout.
  if (/^Unexpected server response: 4/.test(error.message) || /subprotocol|Sec-WebSocket|extension/i.test(error.message)) return 'Error_Misconfigured';
  if (/timed out/i.test(error.message)) return 'Error_BrokerUnreachable';
  return 'Error';
}

export function createWebSocketClientMtp(options: WebSocketClientOptions, events: WebSocketClientEvents, logger: Logger): WebSocketClientMtp {
  const random = options.random ?? Math.random;
  const url = webSocketClientUrl(options);
  const log = logger.child({ controller: options.controllerEndpointId, url });
  let status: MtpStatus = 'Disabled';
  let stopped = true;
  let retryCount = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  // Every dial gets a new generation: events of a socket given up on (Reset(), stop()) are ignored.
  let generation = 0;
  let socket: WebSocket | undefined;
  let session: UspSession | undefined;

  const notify = (what: string, call: () => void): void => { callHandler(log, what, call); };

  const setStatus = (next: MtpStatus, detail?: string): void => {
    if (next === status) return;
    status = next;
    notify('onStatus', () => { events.onStatus(next, detail); });
  };

  const setRetryCount = (next: number): void => {
    if (next === retryCount) return;
    retryCount = next;
    notify('onRetryCount', () => events.onRetryCount?.(next));
  };

  const scheduleRetry = (): void => {
    if (stopped || retryTimer) return;
    setRetryCount(retryCount + 1);
    const delayMs = backoffDelayMs(retryCount, options.retry, random);
    log.info({ retry: retryCount, seconds: Number((delayMs / 1000).toFixed(2)) }, 'retrying the WebSocket session');
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void dial();
    }, delayMs);
    retryTimer.unref();
  };

  // R-SEC.0a: a certificate that speaks for USP Endpoints must speak for this Controller.
  const checkController = (host: string, certificate: PeerCertificate): Error | undefined => {
    const hostError = checkServerIdentity(host, certificate);
    if (hostError) return hostError;
    const ids = endpointIdsFromSubjectAltName(certificate.subjectaltname);
    if (ids.length > 0 && !ids.includes(options.controllerEndpointId)) {
      return new HandshakeRefusal(`the server's certificate speaks for ${ids.join(', ')}, not for the Controller ${options.controllerEndpointId}`);
    }
    return undefined;
  };

  const dial = async (): Promise<void> => {
    if (stopped) return;
    const mine = ++generation;
    setStatus('Connecting');
    let tls: Pick<ClientOptions, 'ca' | 'cert' | 'key'> = {};
    if (options.encryption && options.tls) {
      try {
        tls = {
          ...(options.tls.caFile && { ca: await readFile(options.tls.caFile) }),
          ...(options.tls.certFile && { cert: await readFile(options.tls.certFile) }),
          ...(options.tls.keyFile && { key: await readFile(options.tls.keyFile) }),
        };
      } catch (error) {
        if (mine !== generation || stopped) return;
        log.error({ err: (error as Error).message }, 'cannot read a TLS file of the WebSocket MTP');
        setStatus('Error_Misconfigured', `cannot read a TLS file: ${(error as Error).message}`);
        scheduleRetry();
        return;
      }
      if (mine !== generation || stopped) return;
    }

    let failure: Error | undefined;
    let opened = false;
    let ws: WebSocket;
    try {
      // (`ws` takes closeTimeout, and hands checkServerIdentity to tls.connect, which wants an Error or undefined
      // back; @types/ws knows neither.)
      const wsOptions: ClientOptions & { closeTimeout: number } = {
        ...tls,
        perMessageDeflate: false,
        // `ws` refuses (1009) a message larger than this before buffering it, however it is fragmented.
        maxPayload: options.maxRecordBytes,
        handshakeTimeout: CLIENT_HANDSHAKE_TIMEOUT_MS,
        closeTimeout: CLOSE_TIMEOUT_MS,
        followRedirects: false,
        ...(options.encryption && { checkServerIdentity: checkController as unknown as NonNullable<ClientOptions['checkServerIdentity']> }),
      };
      ws = new WebSocket(url, [USP_SUBPROTOCOL], wsOptions);
    } catch (error) {
      setStatus('Error_Misconfigured', (error as Error).message);
      log.error({ err: (error as Error).message }, 'cannot dial the Controller');
      scheduleRetry();
      return;
    }
    socket = ws;

    ws.on('upgrade', (response: IncomingMessage) => {
      const protocol = response.headers['sec-websocket-protocol'];
      if (protocol !== USP_SUBPROTOCOL) {
        failure = new HandshakeRefusal(protocol === undefined ? 'the Controller answered without the v1.usp subprotocol (R-WS.12)' : `the Controller answered with the subprotocol "${protocol}", not v1.usp (R-WS.12)`);
        ws.terminate();
        return;
      }
      const extensions = response.headers['sec-websocket-extensions'];
      if (extensions === undefined) return;
      const offer = uspExtensionOffer(extensions);
      if (offer.endpointId !== undefined && offer.endpointId !== options.controllerEndpointId) {
        failure = new HandshakeRefusal(`the server says it is ${offer.endpointId} (bbf-usp-protocol), not the Controller ${options.controllerEndpointId}`);
        ws.terminate();
        return;
      }
      // `ws` refuses any extension it did not offer itself; bbf-usp-protocol is berth's to judge, so it is taken out.
      const rest = withoutUspExtension(extensions);
      if (rest === undefined) delete response.headers['sec-websocket-extensions'];
      else response.headers['sec-websocket-extensions'] = rest;
    });

    ws.on('open', () => {
      if (mine !== generation) return;
      opened = true;
      setRetryCount(0);
      session = attachUspSession(ws, { keepAliveSeconds: options.keepAliveSeconds, maxRecordBytes: options.maxRecordBytes, peer: options.controllerEndpointId }, {
        onRecord: (bytes) => { notify('onRecord', () => { events.onRecord(bytes); }); },
        onClose: (code, reason) => {
          if (mine !== generation) return;
          session = undefined;
          socket = undefined;
          if (stopped) return;
          log.warn({ code, reason }, 'the WebSocket session with the Controller closed');
          setStatus('Error_BrokerUnreachable', `session closed (${code}${reason ? ` ${reason}` : ''})`);
          scheduleRetry();
        },
      }, log);
      log.info('WebSocket session with the Controller open');
      setStatus('Connected');
      notify('onConnected', () => { events.onConnected(); });
    });

    ws.on('error', (error: Error & { code?: string }) => {
      if (opened) return; // the session reports its own errors
      failure ??= error;
    });

    ws.on('close', () => {
      if (opened || mine !== generation) return;
      socket = undefined;
      if (stopped) return;
      const reason = failure ?? new Error('the connection closed during the opening handshake');
      log.warn({ err: reason.message, code: (reason as { code?: string }).code }, 'cannot open a WebSocket session with the Controller');
      setStatus(classify(reason), reason.message);
      scheduleRetry();
    });
  };

  const dropSession = (code: number, reason: string): Promise<void> => {
    const ws = socket;
    generation += 1;
    socket = undefined;
    session = undefined;
    if (!ws) return Promise.resolve();
    if (ws.readyState === ws.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      timer.unref();
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === ws.OPEN) ws.close(code, reason);
      else ws.terminate();
    });
  };

  return {
    get status() {
      return status;
    },
    get maxRecordBytes() {
      return options.maxRecordBytes;
    },
    get currentRetryCount() {
      return retryCount;
    },
    start() {
      if (!stopped) return;
      stopped = false;
      void dial();
    },
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await dropSession(CloseCode.goingAway, 'the agent is leaving');
      setStatus('Disabled');
    },
    send(bytes) {
      if (bytes.length > options.maxRecordBytes) return Promise.reject(new RecordTooLargeError(bytes.length, options.maxRecordBytes));
      if (!session) return Promise.reject(new Error(`no open WebSocket session with the Controller ${options.controllerEndpointId}`));
      return session.send(bytes);
    },
    reset() {
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      void dropSession(CloseCode.normal, 'Reset()');
      setRetryCount(0);
      if (stopped) return;
      log.info('Reset(): dialling the Controller again');
      void dial();
    },
  };
}
