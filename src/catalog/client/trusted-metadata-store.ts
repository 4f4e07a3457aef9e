// The TUF metadata a gateway has trusted, kept crash-safe. tuf-js writes its metadata folder with plain
// writeFileSync (a torn root.json would brick the client), so it never writes the trusted copy: each refresh
// runs in a fresh copy, and the copy becomes the trusted one by an atomic symlink swap. After a kill -9 at any
// moment `current` names either the old or the new complete generation, and rollback protection holds.
import { copyFile, mkdir, open, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

const CURRENT = 'current';
const GENERATION = /^gen-(\d+)$/;

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface TrustedMetadataStore {
  /** A private folder holding a copy of the trusted metadata, for one tuf-js Updater to refresh in. */
  begin(): Promise<string>;
  /** Makes a refreshed folder the trusted metadata (atomically). */
  commit(workDir: string): Promise<void>;
  /** Throws the folder away (a failed refresh trusts nothing new). */
  discard(workDir: string): Promise<void>;
  /** The trusted root's version, for status output. */
  trustedRootVersion(): Promise<number>;
}

/** `shippedRoot`: the root.json the OEM ships; used only when nothing has been trusted yet. */
export function createTrustedMetadataStore(stateDir: string, shippedRoot: () => Promise<Uint8Array>): TrustedMetadataStore {
  async function currentGeneration(): Promise<{ dir: string; number: number } | undefined> {
    try {
      const target = await readlink(join(stateDir, CURRENT));
      const match = GENERATION.exec(target);
      if (!match) return undefined;
      // A generation whose root.json does not parse cannot come from a commit; treat it as absent.
      JSON.parse(await readFile(join(stateDir, target, 'root.json'), 'utf8'));
      return { dir: join(stateDir, target), number: Number(match[1]) };
    } catch {
      return undefined;
    }
  }

  async function removeLeftovers(keep: string | undefined): Promise<void> {
    for (const name of await readdir(stateDir)) {
      if (name !== CURRENT && name !== keep) await rm(join(stateDir, name), { recursive: true, force: true });
    }
  }

  return {
    async begin() {
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      const current = await currentGeneration();
      // A crash can leave a work folder, or a finished generation `current` never came to name: neither is
      // trusted, and the next generation number must be free. One process owns this folder (the agent).
      await removeLeftovers(current ? basename(current.dir) : undefined);
      const work = join(stateDir, `work-${randomBytes(6).toString('hex')}`);
      await mkdir(work);
      if (current) {
        for (const name of await readdir(current.dir)) {
          if (name.endsWith('.json')) await copyFile(join(current.dir, name), join(work, name));
        }
      } else {
        const root = await shippedRoot();
        const handle = await open(join(work, 'root.json'), 'w', 0o600);
        await handle.writeFile(root);
        await handle.close();
      }
      return work;
    },

    async commit(workDir) {
      const current = await currentGeneration();
      const next = `gen-${(current?.number ?? 0) + 1}`;
      for (const name of await readdir(workDir)) await fsyncPath(join(workDir, name));
      await rename(workDir, join(stateDir, next));
      await fsyncPath(stateDir);
      const link = join(stateDir, `${CURRENT}.${randomBytes(4).toString('hex')}.tmp`);
      await symlink(next, link);
      await rename(link, join(stateDir, CURRENT));
      await fsyncPath(stateDir);
      await removeLeftovers(next);
    },

    async discard(workDir) {
      await rm(workDir, { recursive: true, force: true });
    },

    async trustedRootVersion() {
      const current = await currentGeneration();
      const text = current ? await readFile(join(current.dir, 'root.json'), 'utf8') : Buffer.from(await shippedRoot()).toString('utf8');
      return (JSON.parse(text) as { signed: { version: number } }).signed.version;
    },
  };
}
