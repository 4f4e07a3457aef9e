// Every command and verb of berth answers --help (and -h) with its usage and exit code 0. The list comes from the
// CLI's own table (COMMANDS and each command's help), so a verb added there is checked without touching this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, asksForHelp, helpFor, runBerth } from '../../../src/cli/commands.ts';
import type { CommandHelp } from '../../../src/cli/commands.ts';

const berth = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'berth.js');

/**
 * What runBerth returns and writes as usage. Collected through its output parameter, not by replacing
 * process.stdout.write: the test runner reports through this process's stdout, and a report written while it was
 * replaced would be lost.
 */
async function runCaptured(argv: readonly string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await runBerth(argv, { write: (text: string) => { stdout += text; } });
  return { code, stdout };
}

function verbPaths(help: CommandHelp, prefix: readonly string[]): string[][] {
  return Object.entries(help.verbs ?? {}).flatMap(([verb, below]) => [[...prefix, verb], ...verbPaths(below, [...prefix, verb])]);
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('every command and verb the CLI defines answers --help and -h with its usage, exit code 0', async () => {
  let checked = 0;
  for (const command of COMMANDS) {
    const { help } = await command.load();
    for (const path of [[command.name], ...verbPaths(help, [command.name])]) {
      for (const flag of ['--help', '-h']) {
        const { code, stdout } = await runCaptured([...path, flag]);
        const label = `berth ${path.join(' ')} ${flag}`;
        assert.equal(code, 0, label);
        assert.match(stdout, /^usage/, label);
        assert.match(stdout, new RegExp(`berth ${escape(command.name)}\\b`), label);
        // The verb itself is in what it prints: "berth app verify …", or ctl's line "  get <path>…".
        for (const word of path.slice(1)) assert.match(stdout, new RegExp(`(^| )${escape(word)}( |$)`, 'm'), `${label} names ${word}`);
        checked++;
      }
    }
  }
  // agent, ctl and its 15 verbs, keys generate, catalog's 5, app's 3, demo: a table that lost its verbs fails here.
  assert.ok(checked >= 2 * 28, `only ${checked / 2} commands and verbs`);
});

test('--help anywhere among a verb\'s options prints that verb\'s usage, not its neighbours\'', async () => {
  const verify = await runCaptured(['app', 'verify', 'x.berth', '--catalog', 'http://c', '--help']);
  assert.equal(verify.code, 0);
  assert.match(verify.stdout, /berth app verify /);
  assert.doesNotMatch(verify.stdout, /berth app publish/);
  const add = await runCaptured(['catalog', 'publisher', 'add', '--help']);
  assert.match(add.stdout, /berth catalog publisher add /);
  assert.doesNotMatch(add.stdout, /berth catalog serve/);
  // An argument that is no verb (an inherited name such as toString included) stops the walk at the command.
  assert.equal(helpFor({ usage: 'top', verbs: { a: { usage: 'a' } } }, ['toString', 'a']), 'top');
  // After `--`, "--help" is an argument, not a request for help.
  assert.equal(asksForHelp(['set', '--', '--help']), false);
  assert.equal(asksForHelp(['set', 'x', '-h']), true);
});

test('berth --help lists every command of the table', async () => {
  const { code, stdout } = await runCaptured(['--help']);
  assert.equal(code, 0);
  for (const command of COMMANDS) assert.match(stdout, new RegExp(`^  berth ${command.name}\\b`, 'm'));
});

test('the berth process itself: `berth app verify --help` prints the usage and exits 0', () => {
  const result = spawnSync(process.execPath, [berth, 'app', 'verify', '--help'], { env: { ...process.env, BERTH_FROM_SOURCE: '1' }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.stderr, '');
  assert.equal(result.status, 0);
  assert.match(result.stdout, /berth app verify {2}<file\.berth\|package-url> --catalog <url>/);
});
