#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1 --optimize-for-size --expose-gc --no-sparkplug
// The `berth` command. Runs the bundled CLI from dist/ (production, npm run build), or the TypeScript sources through tsx
// when there is no build or the sources are newer than it (a development checkout after an edit or a pull).
// --max-semi-space-size=1: a 1 MiB young generation keeps the long-running agent's resident memory
// ~12 MiB lower (measured by npm run bench:usp) at no measurable latency cost.
// --optimize-for-size: V8 favours memory over speed where it has the choice (smaller heap growth, less inlining):
// ~1.5 MiB less at idle, round trips unchanged (bench:usp). Flags that cost latency were measured and left out:
// --no-opt (TurboFan off) saves ~6 MiB but a Get takes 1.5 ms instead of 0.75; --lite-mode saves ~10 MiB at 2 ms.
// MALLOC_ARENA_MAX=2: glibc otherwise gives each thread that allocates (libuv's file and zlib workers) an arena
// of its own and keeps freed memory there; two arenas keep the agent ~7 MiB smaller after installing apps
// (npm run bench:smm). Lower malloc mmap/trim thresholds saved ~10 MiB more but cost ~0.2 ms per USP round
// trip (npm run bench:usp), so they are not set.
// --expose-gc: once the agent has gone quiet after a burst of work it runs a full collection (src/idle-collector.ts),
// ~2 MiB back at idle that V8 alone keeps until the heap grows again.
// --no-sparkplug: V8's baseline compiler keeps machine code beside the bytecode of every warm function; without it
// the agent is ~0.7 MiB smaller at idle with round trips unchanged (the hot path is TurboFan code either way).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'main.js');

function newestSource(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function useCompiled() {
  if (process.env.BERTH_FROM_SOURCE || !existsSync(compiled)) return false;
  const built = statSync(compiled).mtimeMs;
  return newestSource(join(root, 'src')) <= built && newestSource(join(root, 'datamodel')) <= built;
}

if (useCompiled()) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
