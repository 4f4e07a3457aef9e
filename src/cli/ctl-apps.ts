// `berth ctl` verbs for apps: install, update, uninstall, start, stop and apps. Each speaks plain USP to
// Device.SoftwareModules. (what any Controller would send) and follows the operation to its end: it subscribes
// to DUStateChange! before asking, prints each step as it happens and exits 1 with the fault when it fails.
import type { usp } from '../usp/generated/usp.js';
import { UspRequestError } from '../controller/controller-client.ts';
import type { ControllerClient } from '../controller/controller-client.ts';
import { UsageError } from './usage.ts';
import { deniedLine, isDenied } from './format.ts';

export const APP_VERBS = ['install', 'update', 'uninstall', 'start', 'stop', 'apps'] as const;

export const APPS_HELP = `  install <package-url> [--env <name>] [--uuid <uuid>]   install an app from the catalog, wait until it runs
  update <app> [<package-url>] [--retain-data]          update an installed app (rolled back if it fails)
  uninstall <app> [--retain-data]                       remove an app (--retain-data keeps its data volumes)
  start <app>[/<unit>]  |  stop <app>[/<unit>]          SetRequestedState Active / Idle of its units
  apps                                                  a table of installed apps and units: status, version, use
                        (<app> is its name, or a DeploymentUnit path; --env picks one when it is in several)
`;

export interface AppVerbOptions {
  env?: string | undefined;
  uuid?: string | undefined;
  retainData?: boolean | undefined;
  json?: boolean | undefined;
  timeoutMs: number;
}

type Params = Record<string, string>;
interface Out {
  line(text: string): void;
  json(value: unknown): void;
}

const DU = 'Device.SoftwareModules.DeploymentUnit.';
const EU = 'Device.SoftwareModules.ExecutionUnit.';

async function getObjects(controller: ControllerClient, path: string, timeoutMs: number): Promise<Map<string, Params>> {
  const resp = (await controller.request({ get: { paramPaths: [path], maxDepth: 0 } }, { timeoutMs })).getResp!;
  const out = new Map<string, Params>();
  for (const result of resp.reqPathResults ?? []) {
    const code = result.errCode ?? 0;
    // Not readable for this Controller: a denial (exit 1), not a usage mistake.
    if (isDenied(code)) throw new UspRequestError(code, result.errMsg ?? '', [{ paramPath: result.requestedPath ?? path, errCode: code, errMsg: result.errMsg ?? '' }]);
    if (code !== 0) throw new UsageError(`${path}: error ${code}: ${result.errMsg ?? ''}`);
    for (const resolved of result.resolvedPathResults ?? []) out.set(resolved.resolvedPath ?? '', resolved.resultParams ?? {});
  }
  return out;
}

/** The DU row an <app> argument names: its path (Device.…) or its Name (in --env when given). */
async function findDu(controller: ControllerClient, app: string, options: AppVerbOptions): Promise<{ path: string; params: Params }> {
  const rows = await getObjects(controller, DU, options.timeoutMs);
  const envs = await getObjects(controller, 'Device.SoftwareModules.ExecEnv.', options.timeoutMs);
  const envName = (ref: string): string => envs.get(`${ref}.`)?.['Name'] ?? ref;
  const wanted = app.endsWith('.') ? app : `${app}.`;
  const matches = [...rows.entries()].filter(([path, params]) =>
    app.startsWith('Device.') ? path === wanted : params['Name'] === app && (options.env === undefined || envName(params['ExecutionEnvRef'] ?? '') === options.env),
  );
  if (matches.length === 0) throw new UsageError(`no installed app ${app}${options.env ? ` in ExecEnv ${options.env}` : ''} (see berth ctl apps)`);
  if (matches.length > 1) throw new UsageError(`${app} is installed in several ExecEnvs (${matches.map(([, p]) => envName(p['ExecutionEnvRef'] ?? '')).join(', ')}): add --env <name>`);
  return { path: matches[0]![0], params: matches[0]![1] };
}

async function subscribe(controller: ControllerClient, type: string, reference: string, timeoutMs: number): Promise<() => Promise<void>> {
  const resp = (
    await controller.request(
      {
        add: {
          allowPartial: false,
          createObjs: [{ objPath: 'Device.LocalAgent.Subscription.', paramSettings: [{ param: 'NotifType', value: type, required: true }, { param: 'ReferenceList', value: reference, required: true }, { param: 'Enable', value: 'true', required: true }] }],
        },
      },
      { timeoutMs },
    )
  ).addResp!;
  const path = resp.createdObjResults?.[0]?.operStatus?.operSuccess?.instantiatedPath ?? '';
  return async () => {
    await controller.request({ delete: { allowPartial: true, objPaths: [path] } }, { timeoutMs }).catch(() => undefined);
  };
}

const elapsed = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Runs one DU command and follows it: OperateResp, then DUStateChange!, then its units until they settle. */
async function followDuOperation(
  controller: ControllerClient,
  command: string,
  inputArgs: Params,
  what: string,
  matches: (args: Params) => boolean,
  options: AppVerbOptions,
  out: Out,
): Promise<number> {
  const started = Date.now();
  const unsubscribe = await subscribe(controller, 'Event', 'Device.SoftwareModules.DUStateChange!', options.timeoutMs);
  try {
    const commandKey = `ctl-${Date.now().toString(36)}`;
    const changed = controller.nextNotify((n) => n.event?.eventName === 'DUStateChange!' && matches(n.event.params ?? {}), 24 * 3600 * 1000);
    const resp = (await controller.request({ operate: { command, commandKey, sendResp: true, inputArgs } }, { timeoutMs: options.timeoutMs })).operateResp!;
    const result = resp.operationResults?.[0];
    if (result?.cmdFailure) {
      if (options.json) out.json(resp);
      const { errCode, errMsg } = result.cmdFailure;
      out.line(isDenied(errCode) ? deniedLine(command, errMsg) : `${what}: refused, error ${errCode ?? 0}: ${errMsg ?? ''}`);
      return 1;
    }
    out.line(`${what}: accepted (${result?.reqObjPath ?? 'no request row'}), working…`);
    const ticker = process.stderr.isTTY ? setInterval(() => process.stderr.write(`\r  … ${elapsed(started)}`), 500) : undefined;
    let notify: usp.Notify.$Properties;
    try {
      notify = await changed;
    } finally {
      if (ticker) {
        clearInterval(ticker);
        process.stderr.write('\r');
      }
    }
    const args = notify.event?.params ?? {};
    if (options.json) out.json(notify);
    const fault = Number(args['Fault.FaultCode'] ?? '0');
    if (fault !== 0) {
      out.line(`${what}: failed after ${elapsed(started)}, fault ${fault}: ${args['Fault.FaultString'] ?? ''}`);
      if (args['CurrentState'] === 'Installed') out.line(`  ${args['DeploymentUnitRef'] ?? 'the app'} stays at version ${args['Version'] ?? '?'}`);
      return 1;
    }
    const done = { Install: 'installed', Update: 'updated', Uninstall: 'uninstalled' }[args['OperationPerformed'] ?? ''] ?? 'done';
    out.line(`${what}: ${done} in ${elapsed(started)} — ${args['DeploymentUnitRef'] ?? ''} version ${args['Version'] ?? ''}`);
    if (args['CurrentState'] === 'Installed') {
      for (const unit of (args['ExecutionUnitRefList'] ?? '').split(',').filter((u) => u !== '')) {
        const params = (await getObjects(controller, `${unit}.`, options.timeoutMs)).get(`${unit}.`) ?? {};
        out.line(`  unit ${params['Name'] ?? unit}: ${params['Status'] ?? '?'}${params['ExecutionFaultCode'] && params['ExecutionFaultCode'] !== 'NoFault' ? ` (${params['ExecutionFaultCode']}: ${params['ExecutionFaultMessage'] ?? ''})` : ''}`);
      }
    }
    return 0;
  } finally {
    await unsubscribe();
  }
}

async function setUnitsState(controller: ControllerClient, target: string, state: 'Active' | 'Idle', options: AppVerbOptions, out: Out): Promise<number> {
  const [app, unitName] = target.split('/');
  const du = await findDu(controller, app!, options);
  const units = (du.params['ExecutionUnitList'] ?? '').split(',').filter((u) => u !== '');
  const rows = await getObjects(controller, EU, options.timeoutMs);
  const chosen = units.filter((ref) => unitName === undefined || rows.get(`${ref}.`)?.['Name'] === unitName);
  if (chosen.length === 0) throw new UsageError(`${app} has no unit ${unitName ?? ''}`);
  let failed = 0;
  for (const ref of chosen) {
    const resp = (await controller.request({ operate: { command: `${ref}.SetRequestedState()`, sendResp: true, inputArgs: { RequestedState: state } } }, { timeoutMs: options.timeoutMs })).operateResp!;
    const failure = resp.operationResults?.[0]?.cmdFailure;
    if (failure) {
      failed++;
      out.line(isDenied(failure.errCode) ? deniedLine(`${ref}.SetRequestedState()`, failure.errMsg) : `${rows.get(`${ref}.`)?.['Name'] ?? ref}: error ${failure.errCode ?? 0}: ${failure.errMsg ?? ''}`);
    }
  }
  // Follow the units until they reach the state (or report where they are).
  const deadline = Date.now() + Math.max(options.timeoutMs, 30_000);
  for (;;) {
    const now = await getObjects(controller, EU, options.timeoutMs);
    const pending = chosen.filter((ref) => now.get(`${ref}.`)?.['Status'] !== state);
    const faulted = chosen.filter((ref) => (now.get(`${ref}.`)?.['ExecutionFaultCode'] ?? 'NoFault') !== 'NoFault' && now.get(`${ref}.`)?.['Status'] === 'Idle');
    if (pending.length === 0 || (state === 'Active' && faulted.length > 0) || Date.now() > deadline) {
      for (const ref of chosen) {
        const row = now.get(`${ref}.`) ?? {};
        const fault = row['ExecutionFaultCode'] && row['ExecutionFaultCode'] !== 'NoFault' ? ` (${row['ExecutionFaultCode']}: ${row['ExecutionFaultMessage'] ?? ''})` : '';
        out.line(`${app}/${row['Name'] ?? ref}: ${row['Status'] ?? '?'}${fault}`);
      }
      if (options.json) out.json(Object.fromEntries(chosen.map((ref) => [ref, now.get(`${ref}.`)])));
      return failed > 0 || pending.length > 0 ? 1 : 0;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function listApps(controller: ControllerClient, options: AppVerbOptions, out: Out): Promise<number> {
  const dus = await getObjects(controller, DU, options.timeoutMs);
  const eus = await getObjects(controller, EU, options.timeoutMs);
  const envs = await getObjects(controller, 'Device.SoftwareModules.ExecEnv.', options.timeoutMs);
  if (options.json) {
    out.json({ deploymentUnits: Object.fromEntries(dus), executionUnits: Object.fromEntries(eus), execEnvs: Object.fromEntries(envs) });
    return 0;
  }
  const rows = [['APP', 'VERSION', 'STATUS', 'EXECENV', 'UNIT', 'UNIT STATUS', 'MEMORY', 'CPU', 'DISK', 'FAULT']];
  const mib = (kib: string | undefined, allocated: string | undefined): string => `${(Number(kib ?? 0) / 1024).toFixed(1)}/${allocated !== undefined && Number(allocated) >= 0 ? (Number(allocated) / 1024).toFixed(0) : '-'} MiB`;
  for (const [path, du] of dus) {
    const env = envs.get(`${du['ExecutionEnvRef'] ?? ''}.`)?.['Name'] ?? du['ExecutionEnvRef'] ?? '';
    const units = (du['ExecutionUnitList'] ?? '').split(',').filter((u) => u !== '');
    units.forEach((ref, i) => {
      const eu = eus.get(`${ref}.`) ?? {};
      rows.push([
        i === 0 ? (du['Name'] ?? path) : '',
        i === 0 ? (du['Version'] ?? '') : '',
        i === 0 ? (du['Status'] ?? '') : '',
        i === 0 ? env : '',
        eu['Name'] ?? ref,
        eu['Status'] ?? '',
        mib(eu['MemoryInUse'], eu['AllocatedMemory']),
        `${eu['CPUPercentInUse'] ?? '0'}/${eu['AllocatedCPUPercent'] ?? '-'} %`,
        mib(eu['DiskSpaceInUse'], eu['AllocatedDiskSpace']),
        eu['ExecutionFaultCode'] && eu['ExecutionFaultCode'] !== 'NoFault' ? `${eu['ExecutionFaultCode']}: ${eu['ExecutionFaultMessage'] ?? ''}` : '',
      ]);
    });
  }
  out.line(dus.size === 0 ? 'no apps installed' : table(rows));
  for (const env of envs.values()) {
    out.line(`ExecEnv ${env['Name'] ?? '?'} (${env['Status'] ?? '?'}): memory ${mib(String(Number(env['AllocatedMemory'] ?? 0) - Number(env['AvailableMemory'] ?? 0)), env['AllocatedMemory'])} held, CPU ${Number(env['AllocatedCPUPercent'] ?? 0) - Number(env['AvailableCPUPercent'] ?? 0)}/${env['AllocatedCPUPercent'] ?? '-'} %, disk ${mib(String(Number(env['AllocatedDiskSpace'] ?? 0) - Number(env['AvailableDiskSpace'] ?? 0)), env['AllocatedDiskSpace'])}`);
  }
  return 0;
}

export async function runAppVerb(controller: ControllerClient, verb: (typeof APP_VERBS)[number], args: readonly string[], options: AppVerbOptions, out: Out): Promise<number> {
  const need = (n: number, what: string): void => {
    if (args.length < n) throw new UsageError(`berth ctl ${verb} needs ${what}`);
  };
  switch (verb) {
    case 'install': {
      need(1, 'a package URL (berth app publish prints it)');
      const envRef = options.env === undefined ? '' : await execEnvRefOf(controller, options.env, options.timeoutMs);
      const inputArgs: Params = { URL: args[0]!, ...(envRef ? { ExecutionEnvRef: envRef } : {}), ...(options.uuid ? { UUID: options.uuid } : {}) };
      return followDuOperation(controller, 'Device.SoftwareModules.InstallDU()', inputArgs, `install ${args[0]!.split('/').pop() ?? ''}`, (a) => a['OperationPerformed'] === 'Install', options, out);
    }
    case 'update': {
      need(1, 'an app');
      const du = await findDu(controller, args[0]!, options);
      const inputArgs: Params = { ...(args[1] ? { URL: args[1] } : {}), RetainData: String(options.retainData ?? false) };
      return followDuOperation(controller, `${du.path}Update()`, inputArgs, `update ${du.params['Name'] ?? du.path} ${du.params['Version'] ?? ''}`, (a) => a['OperationPerformed'] === 'Update' && `${a['DeploymentUnitRef'] ?? ''}.` === du.path, options, out);
    }
    case 'uninstall': {
      need(1, 'an app');
      const du = await findDu(controller, args[0]!, options);
      return followDuOperation(controller, `${du.path}Uninstall()`, { RetainData: String(options.retainData ?? false) }, `uninstall ${du.params['Name'] ?? du.path}`, (a) => a['OperationPerformed'] === 'Uninstall' && `${a['DeploymentUnitRef'] ?? ''}.` === du.path, options, out);
    }
    case 'start':
    case 'stop':
      need(1, 'an app (or app/unit)');
      return setUnitsState(controller, args[0]!, verb === 'start' ? 'Active' : 'Idle', options, out);
    case 'apps':
      return listApps(controller, options, out);
  }
}

async function execEnvRefOf(controller: ControllerClient, name: string, timeoutMs: number): Promise<string> {
  const envs = await getObjects(controller, 'Device.SoftwareModules.ExecEnv.', timeoutMs);
  for (const [path, params] of envs) if (params['Name'] === name || path === `${name}.` || path === name) return path.slice(0, -1);
  throw new UsageError(`no ExecEnv ${name} (there are: ${[...envs.values()].map((p) => p['Name']).join(', ')})`);
}
