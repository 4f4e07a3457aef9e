// The agent's JSON config file (DESIGN.md §5). A bad file is refused with the key path and the reason, e.g.
// `mqtt.version: must be 5 (MQTT 5.0) or 4 (MQTT 3.1.1)`. Required: endpointId, dataDir and at least one MTP
// (mqtt, stomp or websocket.listen).
import { readFile } from 'node:fs/promises';
import { array, boolean, formatPath, integer, object, oneOf, oneOrMany, string } from '../validation/schema.ts';
import type { Infer } from '../validation/schema.ts';
import { DEFAULT_EXEC_ENV_ISOLATION, EGRESS_KINDS, isIpv4, isIpv4Cidr } from '../smm/exec-env-policy.ts';
import { BerthError } from '../errors/berth-error.ts';

const MTP_PROTOCOLS = ['MQTT', 'STOMP', 'WebSocket'] as const;

/**
 * The config schema, built when a config is read rather than when this module loads: the agent reads its config once,
 * and the schema (a few hundred zod objects) is then garbage instead of staying in the idle agent's heap.
 */
function buildConfigSchema() {
  // USP Endpoint ID: authority-scheme ':' [authority-id] ':' instance-id (TR-369 §Endpoint Identifier).
  const endpointId = string({
    pattern: /^[a-z]+:[A-Za-z0-9._-]{0,64}:[A-Za-z0-9._%:-]{1,64}$/,
    patternMessage: 'must be a USP Endpoint ID like "os::012345-GW0001" or "proto::operator"',
  });

  const mqttTopic = string({ min: 1, max: 65535 }).refine((topic) => !/[+#]/.test(topic), 'must not contain MQTT wildcards (+ or #)');

  const DEFAULT_MAX_MESSAGE_BYTES = 5 * 1024 * 1024;
  const maxMessageBytes = integer({ min: 1024, max: 268435455 }).default(DEFAULT_MAX_MESSAGE_BYTES);

  const mqttSchema = object({
    url: string({ pattern: /^(mqtt|mqtts|ws|wss):\/\/[^\s/]+(:\d+)?\/?[^\s]*$/, patternMessage: 'must be a broker URL like mqtt://127.0.0.1:1883 or mqtts://broker:8883' }),
    version: oneOf([5, 4], 'must be 5 (MQTT 5.0) or 4 (MQTT 3.1.1)').default(5),
    agentTopic: mqttTopic.optional(),
    clientId: string({ max: 65535 }).optional(),
    username: string({ max: 256 }).optional(),
    password: string({ max: 256 }).optional(),
    caFile: string({ min: 1 }).optional(),
    certFile: string({ min: 1 }).optional(),
    keyFile: string({ min: 1 }).optional(),
    keepAliveSeconds: integer({ min: 0, max: 65535 }).default(60),
    connectRetryTime: integer({ min: 1 }).default(5),
    connectRetryIntervalMultiplier: integer({ min: 1000, max: 65535 }).default(2000),
    connectRetryMaxInterval: integer({ min: 1 }).default(30720),
    // QoS 0 by default, as obuspa: a QoS 1 PUBLISH is answered by a broker PUBACK the agent never replies to, and with
    // a broker that leaves Nagle on (Mosquitto's default) the next request then waits ~40 ms for the delayed ACK.
    publishQos: oneOf([0, 1, 2]).default(0),
    maxMessageBytes,
  }).refine((mqtt) => (mqtt.certFile === undefined) === (mqtt.keyFile === undefined), 'certFile and keyFile go together (client certificate and its key)', ['certFile']);

  const stompDestination = string({ min: 1, max: 65535 });
  const pemFile = string({ min: 1 });

  // A STOMP broker connection (Device.STOMP.Connection.1) and the agent's destination on it (LocalAgent.MTP STOMP).
  const stompSchema = object({
    url: string({ pattern: /^stomps?:\/\/[^\s/:]+(:\d+)?\/?$/, patternMessage: 'must be a broker URL like stomp://127.0.0.1:61613 or stomps://broker:61614' }),
    // The STOMP `host` header: RabbitMQ's virtual host; the broker's own name when absent.
    virtualHost: string({ max: 256 }).optional(),
    username: string({ max: 256 }).optional(),
    password: string({ max: 256 }).optional(),
    // Where the agent receives (unless the broker names one in CONNECTED's subscribe-dest).
    destination: stompDestination.optional(),
    caFile: pemFile.optional(),
    certFile: pemFile.optional(),
    keyFile: pemFile.optional(),
    // Heart-beats in milliseconds (STOMP.Connection.{i}.OutgoingHeartbeat/IncomingHeartbeat); none when absent.
    heartbeat: object({ outgoingMs: integer({ min: 0, max: 3600000 }), incomingMs: integer({ min: 0, max: 3600000 }) }).optional(),
    retryInitialSeconds: integer({ min: 1, max: 65535 }).default(5),
    retryIntervalMultiplier: integer({ min: 1000, max: 65535 }).default(2000),
    retryMaxSeconds: integer({ min: 1 }).default(30720),
    maxMessageBytes,
  }).refine((stomp) => (stomp.certFile === undefined) === (stomp.keyFile === undefined), 'certFile and keyFile go together (client certificate and its key)', ['certFile']);

  // The agent's WebSocket identity and CA (for its server and for sessions it opens to Controllers), and its server.
  const webSocketSchema = object({
    // The agent's certificate and key: its server's certificate, and its client certificate when it dials a Controller.
    certFile: pemFile.optional(),
    keyFile: pemFile.optional(),
    // Checks Controllers' certificates (client certificates on the server; server certificates when dialling).
    caFile: pemFile.optional(),
    keepAliveSeconds: integer({ min: 1, max: 86400 }).default(60),
    maxMessageBytes,
    // The agent's WebSocket server (LocalAgent.MTP WebSocket), for Controllers that connect to it; none when absent.
    listen: object({
      bindAddress: string({ min: 1, max: 64 }).default('0.0.0.0'),
      port: integer({ min: 1, max: 65535 }).default(8443),
      path: string({ pattern: /^\/[^\s?#]*$/, patternMessage: 'must be a URL path like /usp' }).default('/usp'),
      encryption: boolean().default(true),
      // Controllers must present a certificate signed by caFile; off only for closed networks.
      requireClientCertificate: boolean().default(true),
      maxSessions: integer({ min: 1, max: 1024 }).default(32),
    }).optional(),
  }).refine((ws) => (ws.certFile === undefined) === (ws.keyFile === undefined), 'certFile and keyFile go together (certificate and its key)', ['certFile'])
    .refine((ws) => ws.listen === undefined || !ws.listen.encryption || ws.certFile !== undefined, 'an encrypted server needs certFile and keyFile', ['certFile'])
    .refine((ws) => ws.listen === undefined || !ws.listen.requireClientCertificate || (ws.listen.encryption && ws.caFile !== undefined), 'requiring client certificates needs encryption and a caFile to check them with (or set listen.requireClientCertificate to false)', ['listen', 'requireClientCertificate']);


  const roleName = string({ pattern: /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, patternMessage: 'must be 1-64 letters, digits, spaces, ".", "_" or "-"' });
  const permissionString = string({ pattern: /^[r-][w-][x-][n-]$/, patternMessage: 'must be 4 characters r, w, x, n or - in that order, e.g. "r--n"' });

  // A role as ControllerTrust.Role.{i} holds it (TR-181): permissions with Targets and Order, the highest Order
  // covering an element deciding.
  const roleSchema = object({
    name: roleName,
    permissions: array(
      object({
        order: integer({ min: 0, max: 4294967295 }),
        targets: array(string({ min: 1, max: 1024 }), { min: 1, max: 32 }),
        param: permissionString.default('----'),
        obj: permissionString.default('----'),
        instantiatedObj: permissionString.default('----'),
        commandEvent: permissionString.default('----'),
      }),
      { max: 64 },
    ).refine((ps) => new Set(ps.map((p) => p.order)).size === ps.length, 'each permission of a role needs its own order (it is the unique key)'),
  });

  // A party with its own ExecEnvs: its Controllers see and act on only those and the apps in them.
  const tenantSchema = object({
    name: string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, patternMessage: 'must be 1-64 letters, digits, ".", "_" or "-"' }),
    execEnvs: array(string({ min: 1 }), { min: 1, max: 16 }),
  });

  const controllerSchema = object({
    endpointId,
    // Its MQTT topic (Controller.{i}.MTP MQTT.Topic); needs the mqtt key.
    topic: mqttTopic.optional(),
    // Its STOMP destination (Controller.{i}.MTP STOMP.Destination); needs the stomp key.
    stomp: object({ destination: stompDestination }).optional(),
    // WebSocket: with url, the agent connects to the Controller's server (wss://host:port/path); without, the Controller
    // connects to the agent's server (websocket.listen).
    websocket: object({
      url: string({ pattern: /^wss?:\/\/[^\s/]+(:\d+)?(\/[^\s]*)?$/, patternMessage: 'must be a URL like wss://controller.example:443/usp' }).optional(),
      keepAliveSeconds: integer({ min: 1, max: 86400 }).optional(),
      retryMinimumWaitSeconds: integer({ min: 1, max: 65535 }).default(5),
      retryIntervalMultiplier: integer({ min: 1000, max: 65535 }).default(2000),
    }).optional(),
    // Which of its MTPs the agent tries first for notifications (Controller.{i}.MTP.{j}.Order); default MQTT, STOMP, WebSocket.
    order: array(oneOf(MTP_PROTOCOLS), { min: 1, max: 3 }).refine((order) => new Set(order).size === order.length, 'names each protocol at most once').optional(),
    // 'full' (Full Access), 'untrusted', or names of roles of the `roles` key; with `tenant`, none or extra roles.
    role: oneOrMany(roleName, { min: 1, max: 8 }).optional(),
    tenant: string({ min: 1 }).optional(),
    // A topic of its own to send requests to: the agent takes there only this Controller's Records, and its Records
    // only there (README: Who is speaking). Pair it with a broker ACL letting only this Controller write it.
    agentTopic: mqttTopic.optional(),
    // May read `secured` values (passwords) of what its roles let it read (ControllerTrust.SecuredRoles).
    secured: boolean().default(false),
    enable: boolean().default(true),
    periodicNotifInterval: integer({ min: 1 }).default(86400),
  });

  const hostPort = integer({ min: 1, max: 65535 });
  const defaults = DEFAULT_EXEC_ENV_ISOLATION.network;

  const execEnvNetworkSchema = object({
    publishAddress: string({ pattern: /^[0-9.]+$/, patternMessage: 'must be an IPv4 address such as 192.168.1.1' })
      .refine(isIpv4, 'must be an IPv4 address such as 192.168.1.1')
      .default(defaults.publishAddress),
    publishPorts: object({ min: hostPort, max: hostPort }).refine((range) => range.min <= range.max, 'min must not be above max').default({ ...defaults.publishPorts }),
    reservedPorts: array(hostPort, { max: 1024 }).default([...defaults.reservedPorts]),
    egress: array(oneOf(EGRESS_KINDS), { max: EGRESS_KINDS.length }).default([...defaults.egress]),
    lanSubnets: array(string({ max: 18 }).refine(isIpv4Cidr, 'must be an IPv4 subnet such as 192.168.1.0/24'), { max: 64 }).default([...defaults.lanSubnets]),
  }).default({});

  const execEnvSchema = object({
    name: string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, patternMessage: 'must be 1-64 letters, digits, ".", "_" or "-"' }),
    memoryKiB: integer({ min: 1024 }),
    // Percent of the device's CPU (TR-181 AllocatedCPUPercent: a share of the parent's allocation).
    cpuPercent: integer({ min: 1, max: 100 }),
    diskKiB: integer({ min: 1024 }),
    // How the ExecEnv's apps are kept apart from the gateway and from other ExecEnvs' apps (DEFAULT_EXEC_ENV_ISOLATION).
    network: execEnvNetworkSchema,
    allowRoot: boolean().default(DEFAULT_EXEC_ENV_ISOLATION.allowRoot),
  });

  function isHttpUrl(text: string): boolean {
    try {
      const url = new URL(text);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }

  const configSchema = object({
    endpointId,
    dataDir: string({ min: 1 }),
    mqtt: mqttSchema.optional(),
    stomp: stompSchema.optional(),
    websocket: webSocketSchema.optional(),
    controllers: array(controllerSchema).default([]),
    catalog: object({
      url: string().refine(isHttpUrl, 'must be an http:// or https:// URL'),
      root: string({ min: 1 }),
    }).optional(),
    docker: object({ socketPath: string({ min: 1 }).default('/var/run/docker.sock') }).optional(),
    execEnvs: array(execEnvSchema).optional(),
    roles: array(roleSchema, { max: 24 }).default([]),
    tenants: array(tenantSchema, { max: 16 }).default([]),
    smm: object({
      // Update() to a lower version is refused (7229) unless this is true.
      allowDowngrade: boolean().default(false),
      // A new version's units must be Active and stay up this long before an Update is committed.
      updateProbationSeconds: integer({ min: 0, max: 3600 }).default(10),
      // A new app's AutoStart units must be Active and stay up this long, or the install fails and is undone.
      installProbationSeconds: integer({ min: 0, max: 3600 }).default(3),
      // ...and may take this long to become Active.
      startTimeoutSeconds: integer({ min: 1, max: 3600 }).default(30),
      // Memory, CPU and disk use are sampled from Docker this often.
      sampleIntervalSeconds: integer({ min: 1, max: 3600 }).default(10),
      // Linux capabilities apps may be given back (each must also be asked for in the app's signed manifest).
      allowedCapabilities: array(string({ pattern: /^[A-Z_]+$/, patternMessage: 'must be a capability name without CAP_, e.g. NET_BIND_SERVICE' })).default([]),
    }).default({}),
    deviceInfo: object({
      manufacturer: string({ max: 64 }).default('berth'),
      manufacturerOui: string({ pattern: /^[0-9A-F]{6}$/, patternMessage: 'must be 6 upper-case hex digits' }).default('012345'),
      modelName: string({ max: 64 }).default('berth gateway'),
      productClass: string({ max: 64 }).default('gateway'),
      serialNumber: string({ max: 64 }).optional(),
      hardwareVersion: string({ max: 64 }).default(''),
    }).default({}),
    log: object({ level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).default({}),
  }).superRefine((config, report) => {
    if (config.mqtt === undefined && config.stomp === undefined && config.websocket?.listen === undefined && !config.controllers.some((c) => c.websocket?.url !== undefined)) {
      report([], 'the agent needs an MTP: an mqtt or stomp key, websocket.listen, or a Controller with a websocket url');
    }
    config.controllers.forEach((controller, i) => {
      const mtps = controllerProtocols(controller);
      if (mtps.length === 0) report(['controllers', i], 'needs a way to reach it: topic (MQTT), stomp.destination or websocket');
      if (controller.topic !== undefined && config.mqtt === undefined) report(['controllers', i, 'topic'], 'an MQTT topic needs the mqtt key (the broker)');
      if (controller.stomp !== undefined && config.stomp === undefined) report(['controllers', i, 'stomp'], 'a STOMP destination needs the stomp key (the broker)');
      if (controller.websocket !== undefined && controller.websocket.url === undefined && config.websocket?.listen === undefined) {
        report(['controllers', i, 'websocket'], 'without a url the Controller connects to the agent: that needs websocket.listen');
      }
      if (controller.agentTopic !== undefined && controller.topic === undefined) report(['controllers', i, 'agentTopic'], 'goes with topic (both are MQTT)');
      controller.order?.forEach((protocol, j) => {
        if (!mtps.includes(protocol)) report(['controllers', i, 'order', j], `${protocol} is not configured for this Controller`);
      });
    });
    const seen = new Set<string>();
    config.controllers.forEach((controller, i) => {
      if (seen.has(controller.endpointId)) report(['controllers', i, 'endpointId'], `duplicate Controller "${controller.endpointId}"`);
      seen.add(controller.endpointId);
      if (controller.endpointId === config.endpointId) report(['controllers', i, 'endpointId'], 'a Controller cannot have the agent\'s own Endpoint ID');
    });
    const names = new Set<string>();
    config.execEnvs?.forEach((env, i) => {
      if (names.has(env.name)) report(['execEnvs', i, 'name'], `duplicate ExecEnv name "${env.name}"`);
      names.add(env.name);
    });
    const roleNames = new Set<string>();
    config.roles.forEach((role, i) => {
      if (roleNames.has(role.name) || BUILT_IN_ROLES.includes(role.name)) report(['roles', i, 'name'], `duplicate role name "${role.name}" (the built-in roles are ${BUILT_IN_ROLES.join(', ')})`);
      roleNames.add(role.name);
    });
    const tenantOf = new Map<string, string>();
    const tenantNames = new Set<string>();
    config.tenants.forEach((tenant, i) => {
      if (tenantNames.has(tenant.name)) report(['tenants', i, 'name'], `duplicate tenant "${tenant.name}"`);
      tenantNames.add(tenant.name);
      tenant.execEnvs.forEach((env, j) => {
        if (!names.has(env)) report(['tenants', i, 'execEnvs', j], `"${env}" is not an ExecEnv of the execEnvs key`);
        const owner = tenantOf.get(env);
        if (owner !== undefined) report(['tenants', i, 'execEnvs', j], `ExecEnv "${env}" already belongs to tenant "${owner}"`);
        tenantOf.set(env, tenant.name);
      });
    });
    config.controllers.forEach((controller, i) => {
      for (const name of rolesOf(controller)) {
        if (!roleNames.has(name) && name !== 'full' && name !== 'untrusted') report(['controllers', i, 'role'], `"${name}" is not 'full', 'untrusted' or a role of the roles key`);
      }
      if (controller.tenant !== undefined && !tenantNames.has(controller.tenant)) report(['controllers', i, 'tenant'], `"${controller.tenant}" is not a tenant of the tenants key`);
    });
    const agentTopics = new Set<string>([agentTopicOf(config)]);
    config.controllers.forEach((controller, i) => {
      if (controller.agentTopic === undefined) return;
      if (agentTopics.has(controller.agentTopic)) report(['controllers', i, 'agentTopic'], `"${controller.agentTopic}" is already the agent's topic or another Controller's`);
      agentTopics.add(controller.agentTopic);
    });
  });
  return configSchema;
}

/** The MTPs a configured Controller has, in the order the agent tries them (its `order` key first). */
export function controllerProtocols(controller: { topic?: string | undefined; stomp?: unknown; websocket?: unknown; order?: readonly string[] | undefined }): ('MQTT' | 'STOMP' | 'WebSocket')[] {
  const has = MTP_PROTOCOLS.filter((p) => (p === 'MQTT' ? controller.topic !== undefined : p === 'STOMP' ? controller.stomp !== undefined : controller.websocket !== undefined));
  const first = (controller.order ?? []).filter((p): p is (typeof MTP_PROTOCOLS)[number] => (has as readonly string[]).includes(p));
  return [...first, ...has.filter((p) => !first.includes(p))];
}

/** Role names the config may not reuse: the rows berth creates itself. */
export const BUILT_IN_ROLES = ['full', 'untrusted', 'Full Access', 'Untrusted', 'Secured Values'];

/**
 * The role names a configured Controller holds: its `role` key, else 'full' — unless it is confined to a tenant,
 * which then is its only role unless `role` names more.
 */
export function rolesOf(controller: { role?: readonly string[] | undefined; tenant?: string | undefined }): string[] {
  if (controller.role === undefined) return controller.tenant === undefined ? ['full'] : [];
  return [...controller.role];
}

export type BerthConfig = Infer<ReturnType<typeof buildConfigSchema>>;
export type ControllerConfig = BerthConfig['controllers'][number];

export class ConfigError extends BerthError {
  readonly issues: readonly string[];
  constructor(file: string, issues: readonly string[]) {
    super('INVALID_CONFIG', `invalid config ${file}:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Validates parsed JSON; throws ConfigError naming each bad key ('mqtt.version: ...'). */
export function parseConfig(value: unknown, file = '<config>'): BerthConfig {
  const result = buildConfigSchema().parse(value);
  if (result.success) return result.data;
  throw new ConfigError(file, result.issues.map((issue) => `${issue.path.length > 0 ? formatPath(issue.path) : '(top level)'}: ${issue.message}`));
}

export async function loadConfig(file: string): Promise<BerthConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseConfig(json, file);
}

/** The agent topic when the config gives none: `usp/agent/<endpointId>`. */
export function agentTopicOf(config: BerthConfig): string {
  return config.mqtt?.agentTopic ?? `usp/agent/${config.endpointId}`;
}

/** The agent's STOMP destination when the config gives none: `/queue/usp.agent.<endpointId>`. */
export function agentDestinationOf(config: BerthConfig): string {
  return config.stomp?.destination ?? `/queue/usp.agent.${config.endpointId}`;
}
