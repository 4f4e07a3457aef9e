// `berth catalog serve` as a user runs it: its own process, on a free loopback port, over a catalog prepared
// in a temp folder with one publisher. For tests about the server itself (crashes, memory, timeouts), where an
// in-process server would share the test's heap and event loop. close() stops it and removes everything.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { packApp } from '../../src/catalog/package/package-writer.ts';
import { addPublisher, initRepository } from '../../src/catalog/repository/repository.ts';
import { generateKeyPairPem } from '../../src/catalog/tuf/keys.ts';
import { appManifest, VENDOR, writeImageArchive } from './catalog-fixture.ts';

const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'berth.js');

export interface CatalogProcess {
  url: string;
  dir: string;
  work: string;
  publisherKeyPem: string;
  /** Packs an app of the catalog's publisher into work/; returns the package path. */
  packApp(name: string, version: string, options?: { imageSize?: number }): Promise<string>;
  /** The server's resident memory now, in KiB (from /proc). */
  rssKiB(): Promise<number>;
  /** Still running? */
  alive(): boolean;
  /** What the server wrote to stderr (its crash report, if it crashed). */
  stderr(): string;
  close(): Promise<void>;
}

export async function startCatalogProcess(serveArgs: readonly string[] = []): Promise<CatalogProcess> {
  const work = await mkdtemp(join(tmpdir(), 'berth-catalog-process-'));
  const dir = join(work, 'catalog');
  let child: ChildProcess | undefined;
  try {
    await initRepository(dir);
    const publisher = generateKeyPairPem();
    await addPublisher(dir, VENDOR, publisher.publicPem);
    const server = spawn(process.execPath, [berth, 'catalog', 'serve', '--dir', dir, '--port', '0', '--log-level', 'warn', ...serveArgs], {
      env: { ...process.env, BERTH_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = server;
    let stderr = '';
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => server.once('exit', () => { resolve(); }));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout }).on('line', (line) => {
        const match = /at (https?:\/\/\S+)/.exec(line);
        if (match) resolve(match[1]!);
      });
      void exited.then(() => { reject(new Error(`catalog serve exited before listening: ${stderr}`)); });
    });
    return {
      url,
      dir,
      work,
      publisherKeyPem: publisher.privatePem,
      async packApp(name, version, options = {}) {
        const image = join(work, `${name}-${version}.image.tar`);
        await writeImageArchive(image, options.imageSize, `${name}-${version}`);
        const out = join(work, `${name}-${version}.berth`);
        await packApp({ manifest: appManifest(name, version), imagePath: image, outPath: out });
        return out;
      },
      async rssKiB() {
        const status = await readFile(`/proc/${server.pid!}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      },
      alive: () => server.exitCode === null && server.signalCode === null,
      stderr: () => stderr,
      async close() {
        if (server.exitCode === null && server.signalCode === null) {
          server.kill('SIGTERM');
          await exited;
        }
        await rm(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill('SIGKILL');
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}
