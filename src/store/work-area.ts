// Private folders for downloads and unpacking, under the agent's data folder (not /tmp, which may be a small
// tmpfs): one per operation, removed when it ends. Leftovers of a crash are cleared at start.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export interface FileWorkArea {
  create(): Promise<string>;
  remove(dir: string): Promise<void>;
  openRead(path: string): Readable;
  /** Removes everything left from earlier runs (call at start, before any operation). */
  clear(): Promise<void>;
}

export function createWorkArea(baseDir: string): FileWorkArea {
  return {
    async create() {
      await mkdir(baseDir, { recursive: true, mode: 0o700 });
      return mkdtemp(join(baseDir, 'op-'));
    },
    async remove(dir) {
      await rm(dir, { recursive: true, force: true });
    },
    openRead: (path) => createReadStream(path, { highWaterMark: 64 * 1024 }),
    async clear() {
      await rm(baseDir, { recursive: true, force: true });
      await mkdir(baseDir, { recursive: true, mode: 0o700 });
    },
  };
}
