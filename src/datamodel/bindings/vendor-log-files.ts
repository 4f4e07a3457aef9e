// Bindings for Device.DeviceInfo.VendorLogFile.{i}.: the logs of the installed Execution Units, reachable over USP.
// Each unit's log is a row with the unit's own instance number (ExecutionUnit.{i}.VendorLogList points at it);
// Upload(URL) sends the container's output (stdout and stderr, at most MaximumSize bytes, newest kept) to the
// Controller's URL with an HTTP PUT, as TR-069/TR-181 file uploads do.
import type { Registry } from '../registry.ts';
import type { DataModel } from '../data-model.ts';
import type { DmObject } from '../instances.ts';
import type { Transaction } from '../transaction.ts';
import { ErrorCode, UspError } from '../../usp/errors.ts';
import { checkHttpUrl } from './http-url.ts';
import { execEnvRow } from './software-modules.ts';
import { VENDOR_PREFIX } from '../vendor.ts';
import type { SmmService } from '../../smm/smm-service.ts';
import type { DeploymentEntry } from '../../smm/smm-state.ts';

/** The port Upload() sends a log through (src/transfer/http-upload.ts in the agent). */
export interface UploadRequest {
  readonly url: URL;
  readonly body: string | Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
}

/** The HTTP status the server answered with. Redirects are not followed: a 3xx is the answer. */
export type Upload = (request: UploadRequest) => Promise<number>;

export const VENDOR_LOG_TABLE = 'Device.DeviceInfo.VendorLogFile.';
const EXEC_ENV_REF = `${VENDOR_PREFIX}ExecutionEnvRef`;
/** Docker keeps at most this much of a container's output (the json-file cap berth sets). */
export const LOG_MAXIMUM_SIZE = 1024 * 1024;
const UPLOAD_TIMEOUT_MS = 60_000;

export const vendorLogRef = (instance: number): string => `${VENDOR_LOG_TABLE}${instance}`;

/** Makes the table match the installed units (inside the caller's transaction). */
export function syncVendorLogRows(tx: Transaction, dm: DataModel, entries: readonly DeploymentEntry[]): void {
  const table = dm.table(VENDOR_LOG_TABLE);
  const wanted = new Map(entries.flatMap((entry) => entry.units.map((unit) => [unit.instance, { name: `${unit.euid}.log`, env: execEnvRow(dm, entry.record.execEnv) }] as const)));
  for (const row of [...table.rows.values()]) if (!wanted.has(row.instance!)) tx.deleteRow(row);
  for (const [instance, { name, env }] of wanted) {
    const row = table.rows.get(instance) ?? tx.addRow(table, instance);
    const envRef = env ? env.path.slice(0, -1) : '';
    if (row.values.get(EXEC_ENV_REF) !== envRef) tx.setInternal(row, EXEC_ENV_REF, envRef);
    if (row.values.get('Name') !== name.slice(0, 64)) tx.setInternal(row, 'Name', name.slice(0, 64));
    if (row.values.get('MaximumSize') !== String(LOG_MAXIMUM_SIZE)) tx.setInternal(row, 'MaximumSize', String(LOG_MAXIMUM_SIZE));
    if (row.values.get('Persistent') !== 'false') tx.setInternal(row, 'Persistent', 'false');
  }
}

const checkUploadUrl = (url: string): URL => checkHttpUrl(url, 'logs are uploaded over http(s)');

export function bindVendorLogFiles(registry: Registry, deps: { smm(): SmmService; upload: Upload }): void {
  const unitOf = (row: DmObject) => {
    for (const entry of deps.smm().deployments()) {
      const unit = entry.units.find((u) => u.instance === row.instance);
      if (unit) return { entry, unit };
    }
    throw new UspError(ErrorCode.ObjectDoesNotExist, `${row.path}: its execution unit is gone`);
  };
  registry.bindObject('Device.DeviceInfo.VendorLogFile.{i}.', { internal: ['Name', 'MaximumSize', 'Persistent', EXEC_ENV_REF] });
  registry.bindCommand(
    'Device.DeviceInfo.VendorLogFile.{i}.Upload()',
    async ({ obj, args, signal }) => {
      const url = checkUploadUrl(args['URL'] ?? '');
      const { entry, unit } = unitOf(obj);
      const log = await deps.smm().unitLogs(entry, unit, LOG_MAXIMUM_SIZE);
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
      if (args['Username']) headers['authorization'] = `Basic ${Buffer.from(`${args['Username']}:${args['Password'] ?? ''}`).toString('base64')}`;
      let status: number;
      try {
        status = await deps.upload({ url, body: log, headers, signal: AbortSignal.any([signal, AbortSignal.timeout(UPLOAD_TIMEOUT_MS)]) });
      } catch (error) {
        throw new UspError(ErrorCode.CommandFailure, `upload to ${url.origin} failed: ${(error as Error).message}`);
      }
      if (status < 200 || status > 299) throw new UspError(ErrorCode.CommandFailure, `upload to ${url.origin} was refused: HTTP ${status}`);
      return {};
    },
    ({ obj, args }) => {
      checkUploadUrl(args['URL'] ?? '');
      unitOf(obj);
    },
  );
}
