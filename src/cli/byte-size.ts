// Byte counts on the command line: plain bytes or with a binary unit (16MiB, 4GiB).
const UNITS: Record<string, number> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

/** The number of bytes `text` says, or undefined if it is not a whole number of bytes (optionally with a unit). */
export function parseByteSize(text: string): number | undefined {
  const match = /^([0-9]+)(B|KiB|MiB|GiB|TiB)?$/.exec(text.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * UNITS[match[2] ?? '']!;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
