// What the fuzzer reads and resets through the probe Controller (a second, well-behaved Controller of the agent):
// the rows of the agent's tables, and the sandbox rows a batch left, removed so that the next batch and the
// memory reading start from the same state. Pure helpers (tableOf, unexplainedRows, rowCounts) are separate
// from the ones that talk to the agent.
import type { ControllerClient } from '../../src/controller/controller-client.ts';
import { FIRST_SANDBOX_INSTANCE } from './usp-messages.ts';

/** 'Device.LocalAgent.Controller.3.MTP.1.' → 'Device.LocalAgent.Controller.{i}.MTP.{i}.' */
export function tableOf(rowPath: string): string {
  return rowPath.replace(/\.\d+(?=\.)/g, '.{i}');
}

/** The agent's top-level tables; GetInstances lists their rows and the rows of the tables below them. */
const TABLES = [
  'Device.LocalAgent.MTP.', 'Device.LocalAgent.Controller.', 'Device.LocalAgent.Subscription.', 'Device.LocalAgent.Request.',
  'Device.LocalAgent.ControllerTrust.Role.', 'Device.MQTT.Client.', 'Device.DeviceInfo.VendorLogFile.',
  'Device.SoftwareModules.ExecEnv.', 'Device.SoftwareModules.DeploymentUnit.', 'Device.SoftwareModules.ExecutionUnit.',
];

/** Every row of every table of the agent. */
export async function listRows(probe: ControllerClient, timeoutMs: number): Promise<string[]> {
  const response = await probe.request({ getInstances: { objPaths: TABLES, firstLevelOnly: false } }, { timeoutMs });
  const rows: string[] = [];
  for (const result of response.getInstancesResp?.reqPathResults ?? []) {
    if (result.errCode) throw new Error(`GetInstances ${result.requestedPath ?? ''}: ${result.errCode} ${result.errMsg ?? ''}`);
    for (const instance of result.currInsts ?? []) if (instance.instantiatedObjPath) rows.push(instance.instantiatedObjPath);
  }
  return rows.sort();
}

/** Rows per table, largest first. */
export function rowCounts(rows: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(tableOf(row), (counts.get(tableOf(row)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/**
 * Rows nobody was told about: not there at the start, and never reported created by the agent (AddResp
 * success, OperateResp request row). Request rows are the agent's own bookkeeping of async commands (an Operate
 * with send_resp=false creates one without a word), so they are not counted here.
 */
export function unexplainedRows(rows: readonly string[], initial: ReadonlySet<string>, reported: ReadonlySet<string>): string[] {
  return rows.filter((row) => !initial.has(row) && !reported.has(row) && !row.startsWith('Device.LocalAgent.Request.'));
}

/** The sandbox rows to delete after a batch (tables' top rows only: their sub-rows go with them). */
export function sandboxRowsToDelete(rows: readonly string[], initial: ReadonlySet<string>): string[] {
  const top = /^(Device\.LocalAgent\.Subscription\.\d+\.|Device\.LocalAgent\.Controller\.(\d+)\.|Device\.LocalAgent\.ControllerTrust\.Role\.(\d+)\.)$/;
  return rows.filter((row) => {
    if (initial.has(row)) return false;
    const match = top.exec(row);
    if (!match) return false;
    const instance = Number(match[2] ?? match[3] ?? FIRST_SANDBOX_INSTANCE);
    return instance >= FIRST_SANDBOX_INSTANCE;
  });
}

/**
 * Cancels the async commands still running and deletes the sandbox rows a batch left; then the rows must be the
 * initial ones again (sub-rows the fuzzer added to initial rows, e.g. a Subscription's, cannot exist: only
 * Controller.1, Controller.2 and the built-in roles are initial, and they are outside the sandbox).
 */
export async function resetSandbox(probe: ControllerClient, initial: ReadonlySet<string>, timeoutMs: number): Promise<string[]> {
  const before = await listRows(probe, timeoutMs);
  if (before.some((row) => row.startsWith('Device.LocalAgent.Request.'))) {
    await probe.requestRaw({ operate: { command: 'Device.LocalAgent.Request.*.Cancel()', commandKey: 'fuzz-reset', sendResp: true, inputArgs: {} } }, { timeoutMs });
  }
  const doomed = sandboxRowsToDelete(before, initial);
  if (doomed.length > 0) await probe.request({ delete: { allowPartial: true, objPaths: doomed } }, { timeoutMs });
  // Canceled requests leave their rows a moment (until OperationComplete is sent).
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const after = await listRows(probe, timeoutMs);
    const left = after.filter((row) => !initial.has(row));
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
