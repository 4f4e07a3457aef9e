// Saves what reproduces a fuzz finding: the offending inputs (raw bytes and how each was sent), the finding, the
// command that generates the same inputs again, and the tail of the agent's log. `--replay DIR` sends a saved
// folder's inputs again, so a finding stays reproducible even after the generators change.
import { mkdir, open, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Channel, FuzzInput, GeneratorName } from './fuzz-input.ts';

export interface Finding {
  /** crash, stall, unresponsive, internal-error, error-log, undecodable-output, rows, row-limit, reset, busy-when-idle, memory, restart. */
  readonly kind: string;
  readonly message: string;
  readonly batch: number;
  /** The inputs it is pinned to (one when the agent's answer named it; else the window since the last good check). */
  readonly records: readonly number[];
  readonly reproduce: string;
  savedTo?: string;
}

interface SavedInput {
  readonly batch: number;
  readonly index: number;
  readonly generator: GeneratorName;
  readonly description: string;
  readonly channels: readonly Channel[];
  readonly file: string;
}

export async function saveFinding(outDir: string, seed: number, finding: Finding, inputs: readonly FuzzInput[], logs: { readonly agent: readonly string[]; readonly agentNotable: readonly string[]; readonly broker: string }): Promise<string> {
  const folder = join(outDir, `seed-${seed}-batch-${finding.batch}-${finding.kind}-${Date.now().toString(36)}`);
  await mkdir(join(folder, 'inputs'), { recursive: true });
  const saved: SavedInput[] = [];
  for (const input of inputs) {
    const file = `${input.batch}-${String(input.index).padStart(5, '0')}.bin`;
    // All publishes of one input carry the same bytes (duplicates are the same Record sent again).
    await writeFile(join(folder, 'inputs', file), input.publishes[0]?.bytes ?? new Uint8Array(0));
    saved.push({ batch: input.batch, index: input.index, generator: input.generator, description: input.description.slice(0, 2000), channels: input.publishes.map((p) => p.channel), file });
  }
  await writeFile(join(folder, 'finding.json'), `${JSON.stringify({ seed, ...finding, inputs: saved }, null, 2)}\n`);
  await writeFile(join(folder, 'agent-log-tail.txt'), `${logs.agent.join('\n')}\n`);
  await writeFile(join(folder, 'agent-log-notable.txt'), `${logs.agentNotable.join('\n')}\n`);
  await writeFile(join(folder, 'broker-log-tail.txt'), logs.broker);
  await writeFile(
    join(folder, 'README.txt'),
    [
      `berth fuzz finding: ${finding.kind}`,
      finding.message,
      '',
      `Generate the same inputs again:  ${finding.reproduce}`,
      `Send exactly these bytes again:  npm run fuzz -- --replay ${folder}`,
      '',
      'inputs/<batch>-<record>.bin are the Records as published; finding.json says how each was sent (channel) and what it is.',
      'agent-log-tail.txt: the agent\'s last log lines; agent-log-notable.txt: its last lines other than the per-input',
      '"dropped …"/"refused …" warnings (connection status, errors); broker-log-tail.txt: Mosquitto\'s last lines.',
      '',
    ].join('\n'),
  );
  return folder;
}

/** The inputs of a saved folder, in their original order. */
export async function loadSavedInputs(folder: string): Promise<FuzzInput[]> {
  const finding = JSON.parse(await readFile(join(folder, 'finding.json'), 'utf8')) as { inputs: SavedInput[] };
  const files = new Set(await readdir(join(folder, 'inputs')));
  const inputs: FuzzInput[] = [];
  for (const saved of finding.inputs) {
    if (!files.has(saved.file)) throw new Error(`${folder}: inputs/${saved.file} is missing`);
    const bytes = new Uint8Array(await readFile(join(folder, 'inputs', saved.file)));
    inputs.push({ batch: saved.batch, index: saved.index, generator: saved.generator, description: saved.description, publishes: saved.channels.map((channel) => ({ channel, bytes })) });
  }
  return inputs;
}

/** The last `lines` lines of a file that may be large (read from its last 256 KiB); '' when it cannot be read. */
export async function readFileTail(file: string, lines: number): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 256 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString('utf8').split('\n').slice(-lines).join('\n');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}
