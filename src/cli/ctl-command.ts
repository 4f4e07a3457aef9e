// `berth ctl`: a small USP Controller over MQTT, STOMP or WebSocket for people at a shell. Readable output by default, the
// decoded USP message with --json. Exit code 1 when the agent answers with an Error or a failure.
import { parseArgs } from 'node:util';
import type { usp } from '../usp/generated/usp.js';
import { UspRequestError } from '../controller/controller-client.ts';
import type { ControllerClient } from '../controller/controller-client.ts';
import { formatAddResp, formatDeleteResp, formatGetResp, formatInstancesResp, formatNotify, formatOperateResp, formatSetResp, formatSupportedResp, formatUspError } from './format.ts';
import type { CommandHelp } from './commands.ts';
import { UsageError } from './usage.ts';
import { ctlConnection } from './ctl-connection.ts';
import type { AgentConfigFile } from './ctl-connection.ts';
import { openCtlConnection } from './ctl-open.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { APP_VERBS, APPS_HELP, runAppVerb } from './ctl-apps.ts';
import { AUDIT_HELP, runAuditVerb } from './ctl-audit.ts';

export const CTL_HELP = `usage: berth ctl [options] <verb> [arguments]

ctl talks to the agent over one MTP: the one its options name (--mtp, the scheme of --broker, --agent-url,
--listen, or an option of one MTP below); else, with --config, the --controller's first MTP there (its order);
else the scheme of $BERTH_BROKER; else MQTT.

options:
  --config <file>        the agent's config file: its brokers, credentials and TLS files, its Endpoint ID, topic,
                         destination and WebSocket server, and the --controller's topic, destination or
                         WebSocket url (the options below override it)
  --agent <endpoint-id>  the agent's Endpoint ID (or $BERTH_AGENT)
  --controller <id>      this Controller's Endpoint ID, configured on the agent (default proto::berth-ctl)
  --mtp <mqtt|stomp|websocket>   which of the --controller's MTPs in --config to use (default its first)
  --timeout <seconds>    how long to wait for an answer, or for the agent to connect to --listen (default 10)
  --json                 print the decoded USP messages as JSON

  MQTT:
  --broker <url>         mqtt://, mqtts://, ws://, wss:// (MQTT over WebSockets) (default mqtt://127.0.0.1:1883,
                         or $BERTH_BROKER)
  --agent-topic <topic>  the agent's topic (default usp/agent/<agent endpoint id>)
  --reply-topic <topic>  where answers and notifications come (default: the Controller's topic in --config,
                         else usp/controller/<controller id>)
  --mqtt-version <5|4>   MQTT 5.0 (default) or 3.1.1
  STOMP:
  --broker <url>         stomp:// or stomps:// (TLS) (default with --mtp stomp: stomp://127.0.0.1:61613)
  --agent-destination <d>   the agent's destination (default /queue/usp.agent.<agent endpoint id>)
  --reply-destination <d>   where answers and notifications come (default: the Controller's stomp.destination
                         in --config, else /queue/usp.controller.<controller id>)
  --username/--password  the broker login (MQTT, STOMP)
  WebSocket:
  --agent-url <url>      ctl opens the session to the agent's server: ws(s)://host:port/path (default with
                         --config: its websocket.listen)
  --listen <url>         the agent opens the session to ctl, which listens on ws(s)://host:port/path (default with
                         --config: the Controller's websocket.url) and waits --timeout for it
  TLS (every MTP):
  --ca <file>            the CA that signed the broker's or the agent's certificate
  --cert <file> --cert-key <file>   ctl's certificate and its key: a broker's client certificate; over WebSocket
                         the Controller's (naming urn:bbf:usp:id:<controller id>), which --agent-url needs when
                         the agent requires client certificates and --listen wss:// always needs

A permission denial prints one line per path, "denied (7006): <path>: <the agent's message>", and exits 1.

verbs:
  get <path>... [--depth N]                     read parameters (partial paths, wildcards, searches)
  set <object-path> <Param=value>... [--allow-partial]
  add <table-path> [Param=value]...             create a row
  delete <path>...                              delete rows
  operate <command-path> [Arg=value]... [--key K] [--wait]   run a command (--wait: follow an async one to its end)
  instances <path>... [--first-level]           instance numbers and unique keys
  supported <path>... [--first-level]           the supported data model (params, commands, events, keys)
  subscribe <NotifType> <reference>... [--count N]   print notifications until Ctrl-C (or N received);
                                                NotifType: ValueChange, ObjectCreation, ObjectDeletion,
                                                OperationComplete, Event
${APPS_HELP}${AUDIT_HELP}`;

/** The verbs of ctl; each answers --help with the whole of CTL_HELP, as the options are common to all of them. */
export const CTL_VERBS = ['get', 'set', 'add', 'delete', 'operate', 'instances', 'supported', 'subscribe', ...APP_VERBS, 'audit'] as const;

export const CTL_COMMAND_HELP: CommandHelp = { usage: CTL_HELP, verbs: Object.fromEntries(CTL_VERBS.map((verb) => [verb, { usage: CTL_HELP }])) };

const OPTIONS = {
  config: { type: 'string' },
  broker: { type: 'string' },
  agent: { type: 'string' },
  'agent-topic': { type: 'string' },
  controller: { type: 'string' },
  'reply-topic': { type: 'string' },
  'mqtt-version': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  'cert-key': { type: 'string' },
  mtp: { type: 'string' },
  'agent-destination': { type: 'string' },
  'reply-destination': { type: 'string' },
  'agent-url': { type: 'string' },
  listen: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  depth: { type: 'string' },
  'allow-partial': { type: 'boolean' },
  'first-level': { type: 'boolean' },
  key: { type: 'string' },
  wait: { type: 'boolean' },
  count: { type: 'string' },
  env: { type: 'string' },
  uuid: { type: 'string' },
  'retain-data': { type: 'boolean' },
  since: { type: 'string' },
  by: { type: 'string' },
} as const;

function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2);
}

function assignments(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of args) {
    const at = arg.indexOf('=');
    if (at <= 0) throw new UsageError(`'${arg}' is not Name=value`);
    out[arg.slice(0, at)] = arg.slice(at + 1);
  }
  return out;
}

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number, not '${text}'`);
  return n;
}

export async function runCtlCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  const [verb, ...args] = positionals;
  if (verb === undefined) {
    process.stdout.write(CTL_HELP);
    return 2;
  }
  // Before connecting: a typo is a usage error, not a wait for a broker.
  if (!(CTL_VERBS as readonly string[]).includes(verb)) throw new UsageError(`unknown verb '${verb}' (see berth ctl --help)`);
  let agentConfig: AgentConfigFile | undefined;
  if (values.config !== undefined) {
    try {
      agentConfig = { file: values.config, config: await loadConfig(values.config) };
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
  }
  const connection = ctlConnection(
    {
      broker: values.broker,
      agent: values.agent,
      agentTopic: values['agent-topic'],
      controller: values.controller,
      replyTopic: values['reply-topic'],
      mqttVersion: values['mqtt-version'],
      username: values.username,
      password: values.password,
      ca: values.ca,
      cert: values.cert,
      certKey: values['cert-key'],
      mtp: values.mtp,
      agentDestination: values['agent-destination'],
      replyDestination: values['reply-destination'],
      agentUrl: values['agent-url'],
      listen: values.listen,
    },
    agentConfig,
    process.env,
  );
  const timeoutMs = positiveInt(values.timeout, 'timeout', 10) * 1000;
  const controller = await openCtlConnection(connection, timeoutMs);
  try {
    return await runVerb(controller, verb, args, values, timeoutMs);
  } catch (error) {
    if (error instanceof UspRequestError) {
      process.stderr.write(`${formatUspError(error.uspErrorCode, error.errMsg, error.paramErrs)}\n`);
      return 1;
    }
    throw error;
  } finally {
    await controller.close();
  }
}

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

async function runVerb(controller: ControllerClient, verb: string, args: readonly string[], values: Values, timeoutMs: number): Promise<number> {
  const ask = (request: usp.Request.$Properties): Promise<usp.Response.$Properties> => controller.request(request, { timeoutMs });
  const print = (json: unknown, text: string): void => {
    process.stdout.write(`${values.json ? toJson(json) : text}\n`);
  };
  const need = (n: number, what: string): void => {
    if (args.length < n) throw new UsageError(`berth ctl ${verb} needs ${what}`);
  };
  if ((APP_VERBS as readonly string[]).includes(verb)) {
    return runAppVerb(controller, verb as (typeof APP_VERBS)[number], args, { env: values.env, uuid: values.uuid, retainData: values['retain-data'], json: values.json, timeoutMs }, {
      line: (text) => {
        if (!values.json) process.stdout.write(`${text}\n`);
      },
      json: (value) => {
        if (values.json) process.stdout.write(`${toJson(value)}\n`);
      },
    });
  }
  if (verb === 'audit') {
    return runAuditVerb(controller, { since: values.since, by: values.by, json: values.json, timeoutMs }, {
      line: (text) => {
        process.stdout.write(`${text}\n`);
      },
      json: (value) => {
        process.stdout.write(`${toJson(value)}\n`);
      },
    });
  }
  switch (verb) {
    case 'get': {
      need(1, 'at least one path');
      const resp = (await ask({ get: { paramPaths: [...args], maxDepth: positiveInt(values.depth, 'depth', 0) } })).getResp!;
      print(resp, formatGetResp(resp));
      return (resp.reqPathResults ?? []).some((r) => r.errCode !== 0) ? 1 : 0;
    }
    case 'set': {
      need(2, 'an object path and at least one Param=value');
      const settings = Object.entries(assignments(args.slice(1))).map(([param, value]) => ({ param, value, required: true }));
      const resp = (await ask({ set: { allowPartial: values['allow-partial'] ?? false, updateObjs: [{ objPath: args[0]!, paramSettings: settings }] } })).setResp!;
      print(resp, formatSetResp(resp));
      const notSet = (resp.updatedObjResults ?? []).some((r) => r.operStatus?.operFailure || (r.operStatus?.operSuccess?.updatedInstResults ?? []).some((i) => (i.paramErrs ?? []).length > 0));
      return notSet ? 1 : 0;
    }
    case 'add': {
      need(1, 'a table path');
      const settings = Object.entries(assignments(args.slice(1))).map(([param, value]) => ({ param, value, required: true }));
      const resp = (await ask({ add: { allowPartial: false, createObjs: [{ objPath: args[0]!, paramSettings: settings }] } })).addResp!;
      print(resp, formatAddResp(resp));
      return (resp.createdObjResults ?? []).some((r) => r.operStatus?.operFailure || (r.operStatus?.operSuccess?.paramErrs ?? []).length > 0) ? 1 : 0;
    }
    case 'delete': {
      need(1, 'at least one path');
      const resp = (await ask({ delete: { allowPartial: values['allow-partial'] ?? false, objPaths: [...args] } })).deleteResp!;
      print(resp, formatDeleteResp(resp));
      return (resp.deletedObjResults ?? []).some((r) => r.operStatus?.operFailure || (r.operStatus?.operSuccess?.unaffectedPathErrs ?? []).length > 0) ? 1 : 0;
    }
    case 'operate':
      need(1, 'a command path');
      return operate(controller, args[0]!, assignments(args.slice(1)), values, timeoutMs, print);
    case 'instances': {
      need(1, 'at least one table path');
      const resp = (await ask({ getInstances: { objPaths: [...args], firstLevelOnly: values['first-level'] ?? false } })).getInstancesResp!;
      print(resp, formatInstancesResp(resp));
      return (resp.reqPathResults ?? []).some((r) => r.errCode !== 0) ? 1 : 0;
    }
    case 'supported': {
      need(1, 'at least one path');
      const resp = (
        await ask({
          getSupportedDm: { objPaths: [...args], firstLevelOnly: values['first-level'] ?? false, returnCommands: true, returnEvents: true, returnParams: true, returnUniqueKeySets: true },
        })
      ).getSupportedDmResp!;
      print(resp, formatSupportedResp(resp));
      return (resp.reqObjResults ?? []).some((r) => r.errCode !== 0) ? 1 : 0;
    }
    case 'subscribe':
      need(2, 'a NotifType and at least one reference path');
      return subscribe(controller, args[0]!, args.slice(1), positiveInt(values.count, 'count', 0), values, timeoutMs, print);
    default:
      throw new UsageError(`unknown verb '${verb}' (see berth ctl --help)`);
  }
}

/** Adds an enabled subscription for this Controller, returns its path and a function that deletes it. */
async function addSubscription(controller: ControllerClient, type: string, references: readonly string[], timeoutMs: number): Promise<{ path: string; remove: () => Promise<void> }> {
  const resp = (
    await controller.request(
      {
        add: {
          allowPartial: false,
          createObjs: [
            {
              objPath: 'Device.LocalAgent.Subscription.',
              paramSettings: [
                { param: 'NotifType', value: type, required: true },
                { param: 'ReferenceList', value: references.join(','), required: true },
                { param: 'Enable', value: 'true', required: true },
              ],
            },
          ],
        },
      },
      { timeoutMs },
    )
  ).addResp!;
  const path = resp.createdObjResults?.[0]?.operStatus?.operSuccess?.instantiatedPath ?? '';
  return {
    path,
    remove: async () => {
      await controller.request({ delete: { allowPartial: true, objPaths: [path] } }, { timeoutMs }).catch(() => undefined);
    },
  };
}

async function operate(
  controller: ControllerClient,
  command: string,
  inputArgs: Record<string, string>,
  values: Values,
  timeoutMs: number,
  print: (json: unknown, text: string) => void,
): Promise<number> {
  const commandKey = values.key ?? `ctl-${Date.now().toString(36)}`;
  // To follow an async command we must be subscribed to its OperationComplete before it can finish.
  const subscription = values.wait ? await addSubscription(controller, 'OperationComplete', [command], timeoutMs) : undefined;
  try {
    const completion = subscription ? controller.nextNotify((n) => n.operComplete?.commandKey === commandKey, 24 * 3600 * 1000) : undefined;
    const resp = (await controller.request({ operate: { command, commandKey, sendResp: true, inputArgs } }, { timeoutMs })).operateResp!;
    print(resp, formatOperateResp(resp));
    let failed = (resp.operationResults ?? []).some((r) => r.cmdFailure);
    const started = (resp.operationResults ?? []).filter((r) => r.reqObjPath).length;
    for (let i = 0; i < started && completion; i++) {
      const notify = i === 0 ? await completion : await controller.nextNotify((n) => n.operComplete?.commandKey === commandKey, 24 * 3600 * 1000);
      print(notify, formatNotify(notify));
      failed ||= notify.operComplete?.cmdFailure != null;
    }
    return failed ? 1 : 0;
  } finally {
    await subscription?.remove();
  }
}

async function subscribe(
  controller: ControllerClient,
  type: string,
  references: readonly string[],
  count: number,
  values: Values,
  timeoutMs: number,
  print: (json: unknown, text: string) => void,
): Promise<number> {
  const subscription = await addSubscription(controller, type, references, timeoutMs);
  if (!values.json) process.stderr.write(`subscribed as ${subscription.path}; waiting for notifications (Ctrl-C to stop)\n`);
  let received = 0;
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      removeListener();
      resolve();
    };
    const removeListener = controller.onNotify((notify) => {
      if (notify.subscriptionId === undefined) return;
      print(notify, formatNotify(notify));
      received += 1;
      if (count > 0 && received >= count) stop();
    });
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await subscription.remove();
  return 0;
}
