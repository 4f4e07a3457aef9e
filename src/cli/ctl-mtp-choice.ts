// Which MTP `berth ctl` talks to the agent over. What the command line says decides first (a broker URL's scheme,
// --agent-url, --listen, an option only one MTP has, --mtp); they must agree. Then, with the agent's config file,
// the Controller's own MTPs in their order; a Controller the file does not list, the agent's first MTP. Then the
// scheme of $BERTH_BROKER, then MQTT.
import { controllerProtocols } from '../config/config.ts';
import type { BerthConfig, ControllerConfig } from '../config/config.ts';
import { UsageError } from './usage.ts';

export type CtlMtp = 'MQTT' | 'STOMP' | 'WebSocket';

/** How ctl reaches the agent over WebSocket: it dials the agent's server, or it is the server the agent dials. */
export type WebSocketDirection = 'dial' | 'listen';

export interface CtlMtpFlags {
  readonly mtp?: string | undefined;
  readonly broker?: string | undefined;
  readonly agentUrl?: string | undefined;
  readonly listen?: string | undefined;
  readonly agentTopic?: string | undefined;
  readonly replyTopic?: string | undefined;
  readonly mqttVersion?: string | undefined;
  readonly agentDestination?: string | undefined;
  readonly replyDestination?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

export interface CtlMtpChoice {
  readonly mtp: CtlMtp;
  /** Why, for messages: "--broker stomp://…", "--mtp stomp", "proto::isp's first MTP in /etc/berth/config.json". */
  readonly why: string;
  /** For WebSocket: who opens the session. */
  readonly direction?: WebSocketDirection;
}

const MTP_NAMES: Readonly<Record<string, CtlMtp>> = { mqtt: 'MQTT', stomp: 'STOMP', websocket: 'WebSocket' };

/** The MTP a broker URL's scheme names: MQTT (also over WebSockets: ws://, wss://) or STOMP. */
export function brokerMtp(url: string, name: string): 'MQTT' | 'STOMP' {
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    scheme = '';
  }
  if (['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(scheme)) return 'MQTT';
  if (scheme === 'stomp:' || scheme === 'stomps:') return 'STOMP';
  throw new UsageError(`${name} ${url} is not a broker URL: mqtt://, mqtts://, ws:// or wss:// for MQTT (ws: MQTT over WebSockets), stomp:// or stomps:// for STOMP`);
}

interface Hint {
  readonly mtp: CtlMtp;
  readonly by: string;
  readonly direction?: WebSocketDirection;
}

/** What the command line says about the MTP: each option that belongs to one. */
function hintsOf(flags: CtlMtpFlags): Hint[] {
  const hints: Hint[] = [];
  if (flags.mtp !== undefined) {
    const mtp = MTP_NAMES[flags.mtp.toLowerCase()];
    if (mtp === undefined) throw new UsageError(`--mtp is mqtt, stomp or websocket, not '${flags.mtp}'`);
    hints.push({ mtp, by: `--mtp ${flags.mtp}` });
  }
  if (flags.broker !== undefined) hints.push({ mtp: brokerMtp(flags.broker, '--broker'), by: `--broker ${flags.broker}` });
  if (flags.agentUrl !== undefined) hints.push({ mtp: 'WebSocket', by: '--agent-url', direction: 'dial' });
  if (flags.listen !== undefined) hints.push({ mtp: 'WebSocket', by: '--listen', direction: 'listen' });
  const only = (mtp: CtlMtp, names: Readonly<Record<string, string | undefined>>): void => {
    for (const [name, value] of Object.entries(names)) if (value !== undefined) hints.push({ mtp, by: name });
  };
  only('MQTT', { '--agent-topic': flags.agentTopic, '--reply-topic': flags.replyTopic, '--mqtt-version': flags.mqttVersion });
  only('STOMP', { '--agent-destination': flags.agentDestination, '--reply-destination': flags.replyDestination });
  return hints;
}

export function chooseCtlMtp(
  flags: CtlMtpFlags,
  agentConfig: { readonly file: string; readonly config: BerthConfig } | undefined,
  configured: ControllerConfig | undefined,
  env: Readonly<Record<string, string | undefined>>,
): CtlMtpChoice {
  const hints = hintsOf(flags);
  const first = hints[0];
  const other = hints.find((hint) => hint.mtp !== first?.mtp);
  if (first && other) throw new UsageError(`${first.by} is for ${first.mtp} and ${other.by} for ${other.mtp}: ctl talks to the agent over one MTP, so give options of one`);
  if (flags.agentUrl !== undefined && flags.listen !== undefined) {
    throw new UsageError('--agent-url (ctl opens the session to the agent\'s WebSocket server) and --listen (the agent opens it to ctl) are two ways of one WebSocket session: give one');
  }
  const credentials = flags.username !== undefined ? '--username' : flags.password !== undefined ? '--password' : undefined;
  const checked = (choice: CtlMtpChoice): CtlMtpChoice => {
    if (choice.mtp === 'WebSocket' && credentials !== undefined) {
      throw new UsageError(`${credentials} is a broker login (MQTT, STOMP), and ctl talks WebSocket here (${choice.why}): a WebSocket session is authenticated by certificates (--cert, --cert-key)`);
    }
    return choice;
  };
  if (first) {
    const direction = hints.find((hint) => hint.direction !== undefined)?.direction;
    return checked({ mtp: first.mtp, why: first.by, ...(direction !== undefined && { direction }) });
  }
  if (agentConfig) {
    const { file, config } = agentConfig;
    if (configured) return checked({ mtp: controllerProtocols(configured)[0]!, why: `${configured.endpointId}'s first MTP in ${file}` });
    const agentMtp: CtlMtp | undefined = config.mqtt ? 'MQTT' : config.stomp ? 'STOMP' : config.websocket?.listen ? 'WebSocket' : undefined;
    if (agentMtp) return checked({ mtp: agentMtp, why: `the agent's first MTP in ${file}` });
  }
  const envBroker = env['BERTH_BROKER'] || undefined;
  if (envBroker !== undefined) return checked({ mtp: brokerMtp(envBroker, '$BERTH_BROKER'), why: `$BERTH_BROKER ${envBroker}` });
  return checked({ mtp: 'MQTT', why: 'the default' });
}
