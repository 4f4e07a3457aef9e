// `berth keys generate --out <prefix>`: an Ed25519 key pair for a publisher (or any catalog role).
// <prefix>.pem is private (mode 0600, never overwritten), <prefix>.pub.pem is what the catalog admin registers.
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { generateKeyPairPem, publicKeyFromPem } from '../catalog/tuf/keys.ts';
import { helpOfVerbs } from './commands.ts';
import { UsageError } from './usage.ts';

export const KEYS_HELP = helpOfVerbs({ generate: '  berth keys generate --out <prefix>     writes <prefix>.pem (private) and <prefix>.pub.pem\n' });
const USAGE = KEYS_HELP.usage;

export async function runKeysCommand(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== 'generate') throw new UsageError(`unknown keys verb '${verb ?? ''}'\n${USAGE}`);
  const { values } = parseArgs({ args: rest, options: { out: { type: 'string', short: 'o' } }, strict: true });
  if (!values.out) throw new UsageError(`berth keys generate needs --out <prefix>\n${USAGE}`);
  const pair = generateKeyPairPem();
  try {
    await writeFile(`${values.out}.pem`, pair.privatePem, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${values.out}.pem already exists; refusing to overwrite a private key`);
    throw error;
  }
  await writeFile(`${values.out}.pub.pem`, pair.publicPem, { mode: 0o644 });
  process.stdout.write(`private key  ${values.out}.pem      (keep it secret; it signs your apps)\npublic key   ${values.out}.pub.pem  (give it to the catalog: berth catalog publisher add)\nkeyid        ${publicKeyFromPem(pair.publicPem).keyId}\n`);
  return 0;
}
