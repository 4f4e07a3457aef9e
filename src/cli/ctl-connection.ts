// Where `berth ctl` connects and as which Controller: its flags first, then the agent's config file (--config), then
// $BERTH_BROKER / $BERTH_AGENT and the defaults. With --config, ctl acts as any Controller the file configures: the
// agent's broker, credentials and TLS files, its Endpoint ID and topic, and that Controller's own topics.
import type { ControllerOptions } from '../controller/controller-client.ts';
import { agentTopicOf } from '../config/config.ts';
import type { BerthConfig } from '../config/config.ts';
import { UsageError } from './usage.ts';

export const DEFAULT_CONTROLLER = 'proto::berth-ctl';

export interface CtlConnectionFlags {
  readonly broker?: string | undefined;
  readonly agent?: string | undefined;
  readonly agentTopic?: string | undefined;
  readonly controller?: string | undefined;
  readonly replyTopic?: string | undefined;
  readonly mqttVersion?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly ca?: string | undefined;
}

export interface AgentConfigFile {
  readonly file: string;
  readonly config: BerthConfig;
}

export function ctlConnection(flags: CtlConnectionFlags, agentConfig: AgentConfigFile | undefined, env: Readonly<Record<string, string | undefined>>): ControllerOptions {
  const config = agentConfig?.config;
  // An empty variable counts as unset.
  const fromEnv = (name: string): string | undefined => env[name] || undefined;
  const agent = flags.agent ?? config?.endpointId ?? fromEnv('BERTH_AGENT');
  if (!agent) throw new UsageError('berth ctl needs --agent <endpoint-id> (or --config <agent config file>, or BERTH_AGENT)');
  const version = flags.mqttVersion ?? String(config?.mqtt?.version ?? 5);
  if (version !== '5' && version !== '4') throw new UsageError('--mqtt-version is 5 or 4 (MQTT 3.1.1)');
  const endpointId = flags.controller ?? DEFAULT_CONTROLLER;
  const configured = config?.controllers.find((controller) => controller.endpointId === endpointId);
  if (agentConfig && !configured && flags.replyTopic === undefined) {
    const names = agentConfig.config.controllers.map((controller) => controller.endpointId);
    throw new UsageError(
      `${endpointId} is not a Controller of ${agentConfig.file} (${names.length > 0 ? `it has ${names.join(', ')}` : 'it has none'}): name one with --controller, or give --reply-topic`,
    );
  }
  // The file's credentials and TLS files go only to the file's broker, never to one named on the command line.
  const broker = config && flags.broker === undefined ? config.mqtt : undefined;
  const username = flags.username ?? broker?.username;
  const password = flags.password ?? broker?.password;
  const caFile = flags.ca ?? broker?.caFile;
  return {
    brokerUrl: flags.broker ?? config?.mqtt?.url ?? fromEnv('BERTH_BROKER') ?? 'mqtt://127.0.0.1:1883',
    endpointId,
    agentEndpointId: agent,
    // A Controller bound to an agent topic of its own is heard only there (README: Who is speaking).
    agentTopic: flags.agentTopic ?? configured?.agentTopic ?? (config?.endpointId === agent ? agentTopicOf(config) : `usp/agent/${agent}`),
    replyTopic: flags.replyTopic ?? configured?.topic ?? `usp/controller/${endpointId}`,
    mqttVersion: version === '5' ? 5 : 4,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(caFile !== undefined && { caFile }),
    ...(broker?.certFile !== undefined && { certFile: broker.certFile }),
    ...(broker?.keyFile !== undefined && { keyFile: broker.keyFile }),
  };
}
