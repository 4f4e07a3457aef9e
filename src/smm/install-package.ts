// The work of InstallDU() after its synchronous checks, in the order DESIGN.md §2 gives: resolve the URL through
// the catalog (TUF), refuse a duplicate (7226) or what will not fit (7227) using the signed summary *before* any
// byte is downloaded, download and verify in one pass, then create the deployment (refused with 7225 if it breaks
// the ExecEnv's policy, 7227 if a host port it publishes is another app's). Every failure carries its USP code
// (uspErrorCode), or none when it is the agent's own (7003), and leaves nothing behind: the work folder goes in all cases, the runtime objects on failure.
import type { Readable } from 'node:stream';
import type { ResolvedPackage } from '../catalog/client/catalog-client.ts';
import type { ContainerRuntime } from '../runtime/container-runtime.ts';
import { admit } from './admission.ts';
import type { ExecEnvBudget, Resources } from './admission.ts';
import { createDeployment } from './deployment.ts';
import type { DeploymentRecord, ExecEnvPolicy } from './deployment.ts';
import { duUuid } from './du-uuid.ts';
import type { PackageCatalog } from './package-catalog.ts';
import { SmmFault } from './smm-fault.ts';
import { ErrorCode } from '../usp/errors.ts';
import { isBerthError } from '../errors/berth-error.ts';
import type { PackageManifest } from '../catalog/package/manifest.ts';

/** Private folders for downloads (the adapter side owns the file system). */
export interface WorkArea {
  create(): Promise<string>;
  remove(dir: string): Promise<void>;
  openRead(path: string): Readable;
}

export interface InstallRequest {
  url: string;
  /** Given by the Controller, or generated from the app's name and vendor (TR-181 Annex C). */
  uuid?: string | undefined;
  execEnv: ExecEnvBudget & ExecEnvPolicy;
  /** A unit's CPU share (percent of one CPU, as manifests give it) in the ExecEnv's unit (percent of the device). */
  toExecEnvCpu: (percentOfOneCpu: number) => number;
  /** Deployments already in this ExecEnv (for the duplicate check). */
  installed: readonly DeploymentRecord[];
  signal?: AbortSignal | undefined;
  /** Update: what the running version holds (released when the new one takes over) and fresh data volumes. */
  update?: { releasing: Resources };
  /** Checks the resolved package before admission (an Update refuses another app or a downgrade). */
  accept?: (custom: ResolvedPackage['custom']) => void;
  onProgress?: (phase: 'resolved' | 'downloading' | 'creating', detail?: { received: number; total: number }) => void;
}

export interface InstallDeps {
  catalog: PackageCatalog;
  runtime: ContainerRuntime;
  work: WorkArea;
}

export async function installPackage(deps: InstallDeps, request: InstallRequest): Promise<{ record: DeploymentRecord; resolved: ResolvedPackage; manifest: PackageManifest }> {
  let resolved: ResolvedPackage;
  try {
    resolved = await deps.catalog.resolve(request.url, request.signal);
  } catch (error) {
    throw asFault(error);
  }
  const custom = resolved.custom;
  request.accept?.(custom);
  const uuid = request.uuid ?? duUuid(custom.name, custom.vendor);
  if (request.installed.some((du) => du.uuid === uuid && du.version === custom.version)) {
    throw new SmmFault(ErrorCode.DuplicateDeploymentUnit, `${custom.name} ${custom.version} is already installed in ExecEnv ${request.execEnv.name}`);
  }
  // One DU per app and ExecEnv: the app's containers, network and data are named after it (a second copy under
  // another UUID would share them). Another version of it is an Update.
  const sameApp = request.installed.find((du) => du.name === custom.name && du.uuid !== uuid);
  if (sameApp) {
    throw new SmmFault(ErrorCode.DuplicateDeploymentUnit, `${custom.name} is already installed in ExecEnv ${request.execEnv.name} (DU ${sameApp.uuid}, version ${sameApp.version}): update it instead`);
  }
  const admission = admit(request.execEnv, {
    executionUnits: custom.executionUnits.map((eu) => ({ ...eu, cpuPercent: request.toExecEnvCpu(eu.cpuPercent) })),
    unpackedBytes: custom.unpackedSize,
    ...(request.update ? { releasing: request.update.releasing } : {}),
  });
  if (!admission.admitted) throw new SmmFault(ErrorCode.SystemResourcesExceeded, admission.message);
  request.onProgress?.('resolved');

  const dir = await deps.work.create();
  try {
    let verified;
    try {
      verified = await deps.catalog.download(resolved, {
        workDir: dir,
        ...(request.signal ? { signal: request.signal } : {}),
        onProgress: (received, total) => request.onProgress?.('downloading', { received, total }),
      });
    } catch (error) {
      throw asFault(error);
    }
    request.onProgress?.('creating');
    // A DeploymentError carries its own USP code (7225, 7227), or none when the runtime failed (7003).
    const record = await createDeployment(deps.runtime, {
      uuid,
      manifest: verified.manifest,
      openImage: () => deps.work.openRead(verified.imagePath),
      policy: request.execEnv,
      forUpdate: request.update !== undefined,
    });
    return { record, resolved, manifest: verified.manifest };
  } finally {
    await deps.work.remove(dir);
  }
}

/** The catalog's failures carry their USP code (PackageUnavailable); a full disk is 7227, not the agent's failure. */
function asFault(error: unknown): unknown {
  if (isBerthError(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SmmFault(ErrorCode.SystemResourcesExceeded, `no disk space for the download (${code})`, { cause: error });
  return error;
}
