// `npm test`: installs what the tests need (npm packages, Mosquitto, RabbitMQ), type-checks, lints, then runs the unit
// and integration tests with node's test runner. `npm run test:unit` / `test:integration` run one suite.
// With CI=true a missing broker is a failure, never a silent skip.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';
import { ensureBusybox, ensureDocker, ensureMosquitto, ensureNodeModules, ensureOpenssl, ensureRabbitmq, root } from './ensure-deps.mjs';

const suite = process.argv[2] ?? 'all';
const ci = process.env.CI === 'true';

function testFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.test.ts')) out.push(relative(root, path));
    }
  };
  walk(join(root, dir));
  return out;
}

function run(label, command, args) {
  console.log(`\n• ${label}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (result.status !== 0) {
    console.error(`✗ ${label} failed`);
    process.exit(result.status ?? 1);
  }
}

ensureNodeModules();
if (suite === 'all' || suite === 'integration') {
  ensureMosquitto({ required: ci });
  ensureRabbitmq({ required: ci });
  ensureOpenssl();
  ensureBusybox({ required: ci });
  await ensureDocker({ required: ci });
}
const bin = (name) => join(root, 'node_modules', '.bin', name);
if (suite === 'all') {
  run('type-check (tsc --noEmit)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
  run('lint (eslint)', bin('eslint'), ['.']);
}
const unitFiles = suite === 'all' || suite === 'unit' ? testFiles('test/unit') : [];
const integrationFiles = suite === 'all' || suite === 'integration' ? testFiles('test/integration') : [];
if (unitFiles.length + integrationFiles.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const failed = [];
const runTests = (label, files, concurrency) => {
  if (files.length === 0) return;
  console.log(`\n• ${label} (${files.length} files)`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit', env: process.env });
  if (result.status !== 0) failed.push(label);
};
// Unit tests share nothing (temp dirs, no ports, the in-memory runtime): one file per core.
runTests('unit tests', unitFiles, availableParallelism());
// Integration tests start brokers and agents: run files one at a time to keep ports and timing sane on 2 cores.
runTests('integration tests', integrationFiles, 1);
if (failed.length > 0) {
  console.error(`✗ ${failed.join(' and ')} failed`);
  process.exit(1);
}
