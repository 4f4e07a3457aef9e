// The agent's JSON config file (DESIGN.md §5), validated with zod. A bad file is refused with the key path
// and the reason, e.g. `mqtt.version: must be 5 or 4 (MQTT 3.1.1)`. Only endpointId, dataDir and mqtt are required.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

// USP Endpoint ID: authority-scheme ':' [authority-id] ':' instance-id (TR-369 §Endpoint Identifier).
const endpointId = z
  .string()
  .regex(/^[a-z]+:[A-Za-z0-9._-]{0,64}:[A-Za-z0-9._%:-]{1,64}$/, 'must be a USP Endpoint ID like "os::012345-GW0001" or "proto::operator"');

const mqttTopic = z.string().min(1).max(65535).refine((topic) => !/[+#]/.test(topic), 'must not contain MQTT wildcards (+ or #)');

const mqttSchema = z
  .object({
    url: z.string().regex(/^(mqtt|mqtts|ws|wss):\/\/[^\s/]+(:\d+)?\/?[^\s]*$/, 'must be a broker URL like mqtt://127.0.0.1:1883 or mqtts://broker:8883'),
    version: z.union([z.literal(5), z.literal(4)], { error: 'must be 5 (MQTT 5.0) or 4 (MQTT 3.1.1)' }).default(5),
    agentTopic: mqttTopic.optional(),
    clientId: z.string().max(65535).optional(),
    username: z.string().max(256).optional(),
    password: z.string().max(256).optional(),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    keepAliveSeconds: z.number().int().min(0).max(65535).default(60),
    connectRetryTime: z.number().int().min(1).default(5),
    connectRetryIntervalMultiplier: z.number().int().min(1000).max(65535).default(2000),
    connectRetryMaxInterval: z.number().int().min(1).default(30720),
    publishQos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
    maxMessageBytes: z.number().int().min(1024).max(268435455).default(5 * 1024 * 1024),
  })
  .strict()
  .refine((mqtt) => (mqtt.certFile === undefined) === (mqtt.keyFile === undefined), {
    message: 'certFile and keyFile go together (client certificate and its key)',
    path: ['certFile'],
  });

const controllerSchema = z
  .object({
    endpointId,
    topic: mqttTopic,
    role: z.enum(['full', 'untrusted']).default('full'),
    enable: z.boolean().default(true),
    periodicNotifInterval: z.number().int().min(1).default(86400),
  })
  .strict();

const execEnvSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
    memoryKiB: z.number().int().min(1024),
    // Percent of the device's CPU (TR-181 AllocatedCPUPercent: a share of the parent's allocation).
    cpuPercent: z.number().int().min(1).max(100),
    diskKiB: z.number().int().min(1024),
  })
  .strict();

export const configSchema = z
  .object({
    endpointId,
    dataDir: z.string().min(1),
    mqtt: mqttSchema,
    controllers: z.array(controllerSchema).default([]),
    catalog: z.object({ url: z.url({ protocol: /^https?$/ }), root: z.string().min(1) }).strict().optional(),
    docker: z.object({ socketPath: z.string().min(1).default('/var/run/docker.sock') }).strict().optional(),
    execEnvs: z.array(execEnvSchema).optional(),
    smm: z
      .object({
        // Update() to a lower version is refused (7229) unless this is true.
        allowDowngrade: z.boolean().default(false),
        // A new version's units must be Active and stay up this long before an Update is committed.
        updateProbationSeconds: z.number().int().min(0).max(3600).default(10),
        // A new app's AutoStart units must be Active and stay up this long, or the install fails and is undone.
        installProbationSeconds: z.number().int().min(0).max(3600).default(3),
        // ...and may take this long to become Active.
        startTimeoutSeconds: z.number().int().min(1).max(3600).default(30),
        // Memory, CPU and disk use are sampled from Docker this often.
        sampleIntervalSeconds: z.number().int().min(1).max(3600).default(10),
        // Linux capabilities apps may be given back (each must also be asked for in the app's signed manifest).
        allowedCapabilities: z.array(z.string().regex(/^[A-Z_]+$/, 'must be a capability name without CAP_, e.g. NET_BIND_SERVICE')).default([]),
      })
      .strict()
      .default({ allowDowngrade: false, updateProbationSeconds: 10, installProbationSeconds: 3, startTimeoutSeconds: 30, sampleIntervalSeconds: 10, allowedCapabilities: [] }),
    deviceInfo: z
      .object({
        manufacturer: z.string().max(64).default('berth'),
        manufacturerOui: z.string().regex(/^[0-9A-F]{6}$/, 'must be 6 upper-case hex digits').default('012345'),
        modelName: z.string().max(64).default('berth gateway'),
        productClass: z.string().max(64).default('gateway'),
        serialNumber: z.string().max(64).optional(),
        hardwareVersion: z.string().max(64).default(''),
      })
      .strict()
      .default({ manufacturer: 'berth', manufacturerOui: '012345', modelName: 'berth gateway', productClass: 'gateway', hardwareVersion: '' }),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).strict().default({ level: 'info' }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.controllers.forEach((controller, i) => {
      if (seen.has(controller.endpointId)) ctx.addIssue({ code: 'custom', path: ['controllers', i, 'endpointId'], message: `duplicate Controller "${controller.endpointId}"` });
      seen.add(controller.endpointId);
      if (controller.endpointId === config.endpointId) ctx.addIssue({ code: 'custom', path: ['controllers', i, 'endpointId'], message: 'a Controller cannot have the agent\'s own Endpoint ID' });
    });
    const names = new Set<string>();
    config.execEnvs?.forEach((env, i) => {
      if (names.has(env.name)) ctx.addIssue({ code: 'custom', path: ['execEnvs', i, 'name'], message: `duplicate ExecEnv name "${env.name}"` });
      names.add(env.name);
    });
  });

export type BerthConfig = z.infer<typeof configSchema>;
export type ControllerConfig = BerthConfig['controllers'][number];

export class ConfigError extends Error {
  readonly issues: readonly string[];
  constructor(file: string, issues: readonly string[]) {
    super(`invalid config ${file}:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Validates parsed JSON; throws ConfigError naming each bad key ('mqtt.version: ...'). */
export function parseConfig(value: unknown, file = '<config>'): BerthConfig {
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    result.error.issues.map((issue) => {
      const key = issue.path.length > 0 ? issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : String(part))).join('.').replace(/\.\[/g, '[') : '(top level)';
      return `${key}: ${issue.message}`;
    }),
  );
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
  return config.mqtt.agentTopic ?? `usp/agent/${config.endpointId}`;
}
