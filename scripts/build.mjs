// `npm run build`: type-checks, then bundles the CLI into dist/ for production (what bin/berth.js runs).
//
// Why a bundle rather than tsc's one-file-per-module output: the agent is a long-running process on a small
// gateway, and a minified bundle keeps it ~11 MiB smaller (npm run bench:usp): V8 holds every loaded module's
// source text, and node's module loader keeps a record per file (berth loads ~230 files from node_modules).
// Code splitting keeps the commands' own code (catalog server, demo, ctl) in chunks the agent never loads.
// The bundle is self-contained: dist/ runs without node_modules (gateway images need not ship them).
//
// `node scripts/build.mjs --outdir DIR --no-check` builds elsewhere without the type-check (tests do this).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { root } from './ensure-deps.mjs';

const { values } = parseArgs({ options: { outdir: { type: 'string' }, 'no-check': { type: 'boolean' } }, strict: true });
const outdir = values.outdir ? resolve(values.outdir) : join(root, 'dist');

if (!values['no-check']) {
  const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

// protobufjs requires the `long` package when it loads. berth decodes 64-bit integers as numbers
// (src/usp/protobuf-runtime.ts unsets util.Long), and Long.js compiles a WebAssembly module as it loads: ~1.6 MiB
// of the idle agent. The bundle gets an empty `long` instead, so protobufjs finds no Long and the module never loads.
const withoutLongJs = {
  name: 'without-long.js',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^long$/ }, () => ({ path: 'long', namespace: 'berth-empty' }));
    esbuild.onLoad({ filter: /^long$/, namespace: 'berth-empty' }, () => ({ contents: 'module.exports = null;', loader: 'js' }));
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  plugins: [withoutLongJs],
  entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // Stack traces of a minified build are unreadable; run with NODE_OPTIONS=--enable-source-maps to map them
  // back to the TypeScript sources (not on by default: loading the maps costs memory).
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS packages call require() for node's own modules; ESM output has no require of its own.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log(`built ${outdir}`);
