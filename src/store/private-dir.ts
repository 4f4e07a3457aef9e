// The agent's data folder holds secrets in clear (the MQTT password and every other `secured` parameter in
// state.json): only the agent's user may enter it and read them, whatever the umask. A folder or file found with a
// wider mode (an older berth, a copy, a chmod) is narrowed at start, and the caller says so in the log.
import { chmod, mkdir, stat } from 'node:fs/promises';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** The sticky bit: a folder shared by several users, such as /tmp. */
const STICKY = 0o1000;

export interface ModeChange {
  readonly path: string;
  readonly from: number;
  readonly to: number;
}

/**
 * Makes `dir` (created if missing) 0700 and those of `files` that exist 0600. Returns what was narrowed; a folder
 * created here is not reported. Throws when `dir` is a shared folder or its mode cannot be changed.
 */
export async function makePrivate(dir: string, files: readonly string[]): Promise<ModeChange[]> {
  const created = (await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE })) !== undefined;
  const changes: ModeChange[] = [];
  const dirMode = (await stat(dir)).mode;
  // chmod 0700 on /tmp (run as root) would lock every other user out of it.
  if ((dirMode & STICKY) !== 0) throw new Error(`dataDir ${dir} is a folder shared by several users (sticky bit, like /tmp): give berth a folder of its own`);
  await narrow(dir, dirMode, PRIVATE_DIR_MODE, created ? undefined : changes);
  for (const file of files) {
    let fileMode: number;
    try {
      fileMode = (await stat(file)).mode;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    await narrow(file, fileMode, PRIVATE_FILE_MODE, changes);
  }
  return changes;
}

async function narrow(path: string, mode: number, wanted: number, report: ModeChange[] | undefined): Promise<void> {
  const current = mode & 0o777;
  if (current === wanted) return;
  try {
    await chmod(path, wanted);
  } catch (error) {
    throw new Error(`cannot make ${path} private (mode ${octal(wanted)}, it is ${octal(current)}): ${(error as Error).message}`, { cause: error });
  }
  report?.push({ path, from: current, to: wanted });
}

export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
