// `npm run fuzz`: fuzzes a real `berth agent` process through a real Mosquitto (see fuzz-runner.ts for what is
// checked). Prints the seed first; exits 1 with the seed, the batch/record and the folder of saved inputs when it
// finds something, 2 for bad usage, 0 when every check passed.
import { randomInt } from 'node:crypto';
import { resolve } from 'node:path';
import { USAGE, UsageError, parseFuzzOptions } from './fuzz-options.ts';
import { runFuzz } from './fuzz-runner.ts';
import { loadSavedInputs } from './failure-store.ts';
import { mosquittoAvailable } from '../helpers/mosquitto.ts';

// Interrupted (Ctrl-C, a CI timeout): exit so that the exit handlers kill the agent and the broker and remove temp folders.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

let settings;
try {
  settings = parseFuzzOptions(process.argv.slice(2), process.env, () => randomInt(0, 2 ** 32));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  if (error.message) console.error(`npm run fuzz: ${error.message}\n`);
  console.error(USAGE);
  process.exit(error.message ? 2 : 0);
}
if (!mosquittoAvailable()) {
  console.error('npm run fuzz needs Mosquitto: apt-get install -y mosquitto');
  process.exit(2);
}
// The runner takes the rest as given (seedGiven and profile are for this report only).
const { replay: replayDir, entry, outDir, ...runnerOptions } = settings;
const replay = replayDir !== undefined ? await loadSavedInputs(resolve(replayDir)) : undefined;
const { bounds } = settings;
console.log(
  `berth fuzz: seed ${settings.seed}${settings.seedGiven ? '' : ' (random; repeat with --seed ' + String(settings.seed) + ')'}, ` +
    (replay ? `replaying ${replay.length} saved inputs from ${replayDir!}` : `at most ${settings.records} inputs in batches of ${settings.batchSize}, at most ${settings.seconds} s`) +
    `\n  profile ${settings.profile}: up to ${bounds.maxPaths} paths, ${bounds.maxObjects} objects, ${bounds.maxParamSettings} settings, ${bounds.maxStringBytes} bytes a string` +
    `\n  checks: answer within ${settings.stallMs} ms after inputs, idle RSS ≤ baseline + ${settings.rssMarginMiB} MiB, V8 heap ≤ baseline + ${settings.heapMarginMiB} MiB, ≤ ${settings.maxRowsPerTable} rows a table, no unreported rows, no error lines, no 7003, idle means idle`,
);
const report = await runFuzz({
  ...runnerOptions,
  ...(entry !== undefined && { entry: resolve(entry) }),
  outDir: resolve(outDir),
  ...(replay !== undefined && { replay }),
  log: (line) => {
    console.log(line);
  },
});
const maxIdle = Math.max(...report.batches.map((b) => b.idleRssMiB));
console.log(
  `\n${report.sent} inputs sent (${report.skipped} not sent: writes outside the sandbox) in ${report.batches.length} batches, ${report.elapsedSeconds.toFixed(0)} s; ` +
    `baseline RSS ${report.baselineRssMiB.toFixed(1)} MiB, highest idle RSS after a batch ${Number.isFinite(maxIdle) ? maxIdle.toFixed(1) : '–'} MiB` +
    (report.brokerReconnects > 0 ? `; the broker closed a fuzz connection ${report.brokerReconnects} time(s)` : ''),
);
if (report.findings.length === 0) {
  console.log(`PASS (seed ${report.seed})`);
} else {
  console.log(`FAIL (seed ${report.seed}): ${report.findings.length} finding(s)`);
  for (const finding of report.findings) console.log(`  ${finding.kind} (batch ${finding.batch}): ${finding.message.slice(0, 300)}\n    ${finding.reproduce}${finding.savedTo ? `\n    saved: ${finding.savedTo}` : ''}`);
  process.exitCode = 1;
}
