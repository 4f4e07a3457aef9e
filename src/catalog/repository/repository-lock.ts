// One writer at a time per catalog directory (the server publishing, the CLI adding a publisher or rotating
// root). mkdir is atomic; the holder's pid inside lets a later writer break the lock of a process that died.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withRepositoryLock<T>(lockDir: string, work: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(join(lockDir, 'pid'), 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`catalog is locked by another writer (${lockDir}, pid ${holder || '?'})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    await writeFile(join(lockDir, 'pid'), String(process.pid));
    return await work();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
