// Where `berth ctl` connects, over which MTP and as which Controller: its flags first, then the agent's config file
// (--config), then $BERTH_BROKER / $BERTH_AGENT and the defaults. With --config, ctl acts as any Controller the file
// configures, over that Controller's MTPs: the agent's broker (MQTT, STOMP), credentials and TLS files, its Endpoint
// ID, topic and destination, its WebSocket server, and that Controller's own topic, destination or WebSocket URL.
// The file's credentials and TLS files go only to the file's own broker or server, never to one the command line
// names. Over WebSocket ctl presents only a certificate given with --cert/--cert-key: the agent's own (in the file) speaks
// for the agent, not for a Controller.
import type { ControllerOptions } from '../controller/controller-client.ts';
import type { ControllerIds } from '../controller/controller-session.ts';
import type { StompWireOptions } from '../controller/stomp-wire.ts';
import type { WebSocketTlsOptions } from '../controller/websocket-wires.ts';
import { agentDestinationOf, agentTopicOf, controllerProtocols } from '../config/config.ts';
import type { BerthConfig, ControllerConfig } from '../config/config.ts';
import { UsageError } from './usage.ts';
import { brokerMtp, chooseCtlMtp } from './ctl-mtp-choice.ts';
import type { CtlMtpChoice, CtlMtpFlags } from './ctl-mtp-choice.ts';

export const DEFAULT_CONTROLLER = 'proto::berth-ctl';

export interface CtlConnectionFlags extends CtlMtpFlags {
  readonly agent?: string | undefined;
  readonly controller?: string | undefined;
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  /** The key of --cert (--cert-key: --key is operate's command key). */
  readonly certKey?: string | undefined;
}

export interface AgentConfigFile {
  readonly file: string;
  readonly config: BerthConfig;
}

/** One wire to open, and everything needed to open it. */
export type CtlConnection =
  | { readonly wire: 'mqtt'; readonly why: string; readonly options: ControllerOptions }
  | { readonly wire: 'stomp'; readonly why: string; readonly ids: ControllerIds; readonly options: StompWireOptions }
  | { readonly wire: 'websocket-dial'; readonly why: string; readonly ids: ControllerIds; readonly url: string; readonly tls: WebSocketTlsOptions }
  | {
      readonly wire: 'websocket-listen';
      readonly why: string;
      readonly ids: ControllerIds;
      readonly url: string;
      readonly host: string;
      readonly port: number;
      readonly path: string;
      readonly tls: WebSocketTlsOptions;
      /** Only an agent whose certificate `tls.caFile` signed may open the session. */
      readonly requireClientCertificate: boolean;
    };

type Env = Readonly<Record<string, string | undefined>>;

interface Context {
  readonly flags: CtlConnectionFlags;
  readonly agentConfig: AgentConfigFile | undefined;
  readonly configured: ControllerConfig | undefined;
  readonly ids: ControllerIds;
  readonly choice: CtlMtpChoice;
  readonly env: Env;
}

export function ctlConnection(flags: CtlConnectionFlags, agentConfig: AgentConfigFile | undefined, env: Env): CtlConnection {
  const config = agentConfig?.config;
  // An empty variable counts as unset.
  const agent = flags.agent ?? config?.endpointId ?? (env['BERTH_AGENT'] || undefined);
  if (!agent) throw new UsageError('berth ctl needs --agent <endpoint-id> (or --config <agent config file>, or BERTH_AGENT)');
  if ((flags.cert === undefined) !== (flags.certKey === undefined)) throw new UsageError('--cert and --cert-key go together (a certificate and its private key)');
  const endpointId = flags.controller ?? DEFAULT_CONTROLLER;
  const configured = config?.controllers.find((controller) => controller.endpointId === endpointId);
  const choice = chooseCtlMtp(flags, agentConfig, configured, env);
  const context: Context = { flags, agentConfig, configured, ids: { endpointId, agentEndpointId: agent }, choice, env };
  switch (choice.mtp) {
    case 'MQTT':
      return mqttConnection(context);
    case 'STOMP':
      return stompConnection(context);
    case 'WebSocket':
      return webSocketConnection(context);
  }
}

/** A Controller the file does not list is most often a typo: refused unless the command line says where it listens. */
function requireListed({ agentConfig, configured, ids }: Context, where: string, given: boolean): void {
  if (!agentConfig || configured || given) return;
  const names = agentConfig.config.controllers.map((controller) => controller.endpointId);
  throw new UsageError(`${ids.endpointId} is not a Controller of ${agentConfig.file} (${names.length > 0 ? `it has ${names.join(', ')}` : 'it has none'}): name one with --controller, or give ${where}`);
}

/** A listed Controller without this MTP: refused unless the command line gives the Controller's address on it. */
function missingMtp({ agentConfig, configured, choice }: Context, key: string, where: string): UsageError {
  const index = agentConfig!.config.controllers.indexOf(configured!);
  return new UsageError(
    `${configured!.endpointId} has no ${choice.mtp} MTP in ${agentConfig!.file} (controllers[${index}].${key}), and ctl talks ${choice.mtp} here (${choice.why}): give ${where}, or leave out ${choice.why} to use its own (${controllerProtocols(configured!).join(', ')})`,
  );
}

/** $BERTH_BROKER, when it names a broker of this MTP. */
function envBroker(env: Env, mtp: 'MQTT' | 'STOMP'): string | undefined {
  const url = env['BERTH_BROKER'] || undefined;
  return url !== undefined && brokerMtp(url, '$BERTH_BROKER') === mtp ? url : undefined;
}

function certificate(flags: CtlConnectionFlags): { certFile?: string; keyFile?: string } {
  return flags.cert !== undefined && flags.certKey !== undefined ? { certFile: flags.cert, keyFile: flags.certKey } : {};
}

function mqttConnection(context: Context): CtlConnection {
  const { flags, agentConfig, configured, ids, choice, env } = context;
  const config = agentConfig?.config;
  requireListed(context, '--reply-topic', flags.replyTopic !== undefined);
  if (configured && configured.topic === undefined && flags.replyTopic === undefined) throw missingMtp(context, 'topic', '--reply-topic');
  if (config && !config.mqtt && flags.broker === undefined) throw new UsageError(`${agentConfig.file} has no mqtt key (the agent's MQTT broker): give --broker mqtt://host:port`);
  const version = flags.mqttVersion ?? String(config?.mqtt?.version ?? 5);
  if (version !== '5' && version !== '4') throw new UsageError('--mqtt-version is 5 or 4 (MQTT 3.1.1)');
  const broker = config && flags.broker === undefined ? config.mqtt : undefined;
  const agent = ids.agentEndpointId;
  return {
    wire: 'mqtt',
    why: choice.why,
    options: {
      brokerUrl: flags.broker ?? broker?.url ?? envBroker(env, 'MQTT') ?? 'mqtt://127.0.0.1:1883',
      ...ids,
      // A Controller bound to an agent topic of its own is heard only there (README: Who is speaking).
      agentTopic: flags.agentTopic ?? configured?.agentTopic ?? (config?.endpointId === agent ? agentTopicOf(config) : `usp/agent/${agent}`),
      replyTopic: flags.replyTopic ?? configured?.topic ?? `usp/controller/${ids.endpointId}`,
      mqttVersion: version === '5' ? 5 : 4,
      ...brokerLogin(flags, broker),
    },
  };
}

/**
 * The login and TLS files for a broker: the flags first, then the config file's block for that broker, which is
 * given only when ctl uses the file's own broker (`broker` is undefined for one named on the command line).
 */
function brokerLogin(
  flags: CtlConnectionFlags,
  broker: { username?: string | undefined; password?: string | undefined; caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined } | undefined,
): { username?: string; password?: string; caFile?: string; certFile?: string; keyFile?: string } {
  const username = flags.username ?? broker?.username;
  const password = flags.password ?? broker?.password;
  const caFile = flags.ca ?? broker?.caFile;
  const client = flags.cert !== undefined ? certificate(flags) : { certFile: broker?.certFile, keyFile: broker?.keyFile };
  return {
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(caFile !== undefined && { caFile }),
    ...(client.certFile !== undefined && { certFile: client.certFile }),
    ...(client.keyFile !== undefined && { keyFile: client.keyFile }),
  };
}

function stompConnection(context: Context): CtlConnection {
  const { flags, agentConfig, configured, ids, choice, env } = context;
  const config = agentConfig?.config;
  requireListed(context, '--reply-destination', flags.replyDestination !== undefined);
  if (configured && configured.stomp === undefined && flags.replyDestination === undefined) throw missingMtp(context, 'stomp.destination', '--reply-destination');
  if (config && !config.stomp && flags.broker === undefined) throw new UsageError(`${agentConfig.file} has no stomp key (the agent's STOMP broker): give --broker stomp://host:port`);
  const broker = config && flags.broker === undefined ? config.stomp : undefined;
  const agent = ids.agentEndpointId;
  return {
    wire: 'stomp',
    why: choice.why,
    ids,
    options: {
      brokerUrl: flags.broker ?? broker?.url ?? envBroker(env, 'STOMP') ?? 'stomp://127.0.0.1:61613',
      endpointId: ids.endpointId,
      agentDestination: flags.agentDestination ?? (config?.endpointId === agent ? agentDestinationOf(config) : `/queue/usp.agent.${agent}`),
      replyDestination: flags.replyDestination ?? configured?.stomp?.destination ?? `/queue/usp.controller.${ids.endpointId}`,
      ...(broker?.virtualHost !== undefined && { virtualHost: broker.virtualHost }),
      ...brokerLogin(flags, broker),
      ...(broker !== undefined && { maxRecordBytes: broker.maxMessageBytes }),
    },
  };
}

function webSocketUrl(text: string, name: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'ws:' && url?.protocol !== 'wss:') throw new UsageError(`${name} ${text} is not a WebSocket URL like wss://gateway.example:8443/usp`);
  return url;
}

/** The URL a Controller on this host dials to reach the agent's server (a wildcard bind address means loopback). */
export function agentServerUrl(listen: NonNullable<NonNullable<BerthConfig['websocket']>['listen']>): string {
  const host = listen.bindAddress === '0.0.0.0' ? '127.0.0.1' : listen.bindAddress === '::' ? '[::1]' : listen.bindAddress.includes(':') ? `[${listen.bindAddress}]` : listen.bindAddress;
  return `${listen.encryption ? 'wss' : 'ws'}://${host}:${listen.port}${listen.path}`;
}

function webSocketConnection(context: Context): CtlConnection {
  const { flags, agentConfig, configured, choice } = context;
  requireListed(context, '--agent-url or --listen', choice.direction !== undefined);
  const direction = choice.direction ?? (configured?.websocket?.url !== undefined ? 'listen' : 'dial');
  if (configured && configured.websocket === undefined && choice.direction === undefined) throw missingMtp(context, 'websocket', '--agent-url or --listen');
  if (direction === 'listen') return webSocketListen(context);
  const file = agentConfig?.file;
  const server = flags.agentUrl === undefined ? agentConfig?.config.websocket : undefined;
  const listen = server?.listen;
  if (flags.agentUrl === undefined && listen === undefined) {
    throw new UsageError(
      file !== undefined
        ? `${file} has no websocket.listen (the agent's WebSocket server): give --agent-url wss://host:port/path, or --listen for an agent that opens the session`
        : `ctl talks WebSocket here (${choice.why}): give --agent-url ws(s)://host:port/path (ctl opens the session to the agent's server) or --listen ws(s)://host:port/path (the agent opens it to ctl), or --config`,
    );
  }
  const url = flags.agentUrl ?? agentServerUrl(listen!);
  webSocketUrl(url, '--agent-url');
  if (listen?.encryption && listen.requireClientCertificate && flags.cert === undefined) {
    throw new UsageError(
      `the agent's WebSocket server ${url} asks Controllers for a certificate (websocket.listen.requireClientCertificate in ${file!}): give ctl ${context.ids.endpointId}'s with --cert and --cert-key (signed by a CA of websocket.caFile, naming urn:bbf:usp:id:${context.ids.endpointId}); the agent's own certificate speaks for the agent`,
    );
  }
  // The agent's caFile is the operator's CA for Controllers; an agent's server certificate from another CA needs --ca.
  const caFile = flags.ca ?? server?.caFile;
  return { wire: 'websocket-dial', why: choice.why, ids: context.ids, url, tls: { ...(caFile !== undefined && { caFile }), ...certificate(flags) } };
}

function webSocketListen(context: Context): CtlConnection {
  const { flags, agentConfig, configured, choice, ids } = context;
  const text = flags.listen ?? configured?.websocket?.url;
  if (text === undefined) {
    throw new UsageError(`ctl talks WebSocket here (${choice.why}): give --listen ws(s)://host:port/path, where the agent opens its session (its Controller's websocket.url)`);
  }
  const fromFile = flags.listen === undefined ? `${ids.endpointId}'s websocket.url in ${agentConfig!.file}` : '--listen';
  // The file's URL passed the config's own check.
  const url = flags.listen !== undefined ? webSocketUrl(text, '--listen') : new URL(text);
  const secure = url.protocol === 'wss:';
  if (secure && flags.cert === undefined) {
    throw new UsageError(`${fromFile} is ${text}: ctl serves wss:// with ${ids.endpointId}'s own certificate, so give --cert and --cert-key (one the agent's websocket.caFile trusts)`);
  }
  // The agent presents its websocket certificate when it dials; with --config the file's CA is taken to have signed it.
  const agentWebSocket = flags.listen === undefined ? agentConfig?.config.websocket : undefined;
  const caFile = flags.ca ?? (agentWebSocket?.certFile !== undefined ? agentWebSocket.caFile : undefined);
  return {
    wire: 'websocket-listen',
    why: choice.why,
    ids,
    url: text,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    path: url.pathname,
    tls: secure ? { ...(caFile !== undefined && { caFile }), ...certificate(flags) } : {},
    requireClientCertificate: secure && caFile !== undefined,
  };
}
