// What a static web server or CDN serves from repository/ (and the root.json gateways ship) is world-readable,
// 0644 for files and 0755 for the folders berth creates, whatever the umask: such a server usually runs as
// another user. Keys stay private (0600 in 0700 folders).
import { chmod, mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export const PUBLIC_FILE_MODE = 0o644;
export const PUBLIC_DIR_MODE = 0o755;

/** Creates `dir` and its missing parents 0755; folders that already existed keep the mode their owner gave them. */
export async function makePublicDir(dir: string): Promise<void> {
  const target = resolve(dir);
  const first = await mkdir(target, { recursive: true, mode: PUBLIC_DIR_MODE });
  if (first === undefined) return;
  // mkdir's mode is masked by the umask: each level it created is set explicitly.
  for (let current = target; ; current = dirname(current)) {
    await chmod(current, PUBLIC_DIR_MODE);
    if (current === resolve(first) || dirname(current) === current) return;
  }
}

/** Writes a file that must not exist yet (versioned metadata is never rewritten), 0644. */
export async function writePublicFileOnce(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', PUBLIC_FILE_MODE);
  try {
    await handle.chmod(PUBLIC_FILE_MODE);
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
}
