// What the Software Module Management service keeps across restarts (saved atomically with the data model, so
// the rows and the runtime records never disagree): each installed deployment with its row numbers and the
// settings Controllers changed on its units, the operations in flight (reported failed after a crash, never
// retried: TR-369 R-SMM.1) and the data volumes kept by Uninstall(RetainData=true).
import type { DeploymentRecord } from './deployment.ts';
import type { AutoRestartPolicy } from './restart-backoff.ts';

export interface UnitSettings {
  /** The unit's name in the manifest. */
  name: string;
  euid: string;
  /** Instance number of its ExecutionUnit row: stable across restarts and updates. */
  instance: number;
  alias: string;
  autoStart: boolean;
  runLevel: number;
  shutdownDelay: number;
  autoRestart: AutoRestartPolicy;
  /** What a Controller (or AutoStart) last asked for: the agent brings the unit back to it after a restart. */
  requested: 'Active' | 'Idle';
  createdAt: string;
}

export interface DeploymentEntry {
  record: DeploymentRecord;
  /** Instance number of its DeploymentUnit row. */
  instance: number;
  alias: string;
  url: string;
  description: string;
  installedAt: string;
  lastUpdate: string;
  moduleVersion: string;
  /** The Endpoint ID of the Controller whose InstallDU created it (absent in state saved before it was recorded). */
  installedBy?: string;
  /** The image on disk (bytes, as the publisher signed it): counted against the ExecEnv's disk. */
  unpackedBytes: number;
  units: UnitSettings[];
}

export type OperationKind = 'Install' | 'Update' | 'Uninstall';

export interface InFlightOperation {
  id: string;
  kind: OperationKind;
  url: string;
  execEnv: string;
  uuid: string | undefined;
  /** The version the DU had before (Update, Uninstall) or is getting (Install). */
  version: string | undefined;
  startedAt: string;
  /**
   * Set once the operation's outcome is saved (an Update's new version, an Uninstall's removed DU) while what it
   * replaced is still being removed: a crash now is reported as the success it was, and reconciling removes the rest.
   */
  committed?: { version: string; duInstance: number; euInstances: number[] };
}

export interface SmmState {
  deployments: DeploymentEntry[];
  inFlight: InFlightOperation[];
  retainedVolumes: string[];
  nextDuInstance: number;
  nextEuInstance: number;
}

export function emptySmmState(): SmmState {
  return { deployments: [], inFlight: [], retainedVolumes: [], nextDuInstance: 1, nextEuInstance: 1 };
}

/** berth's AutoRestart when the Controller gives none: a crashed app comes back, 5 s then doubling up to 5 min, 10 tries. */
export const DEFAULT_AUTO_RESTART: AutoRestartPolicy = {
  enable: true,
  retryMinimumWaitInterval: 5,
  retryMaximumWaitInterval: 300,
  retryIntervalMultiplier: 2000,
  maximumRetryCount: 10,
  resetPeriod: 600,
};

/** TR-181 EUID: assigned by the ExecEnv, at most 64 characters, stable across versions of the DU. */
export function euidOf(execEnv: string, app: string, unit: string): string {
  const readable = `${app}.${unit}@${execEnv}`;
  if (readable.length <= 64) return readable;
  let hash = 0x811c9dc5;
  for (const char of readable) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return `${readable.slice(0, 55)}~${hash.toString(16).padStart(8, '0')}`;
}
