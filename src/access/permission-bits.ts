// ControllerTrust permission strings (TR-369 §Role Definition): four characters in the order r w x n, '-' for
// "not granted" ('r--n'). berth keeps them as a 4-bit mask per column.
export const READ = 1;
export const WRITE = 2;
export const EXECUTE = 4;
export const NOTIFY = 8;
export const ALL_BITS = READ | WRITE | EXECUTE | NOTIFY;

/** The four columns of a Permission row, in the order berth stores their masks. */
export const COLUMNS = ['Param', 'Obj', 'InstantiatedObj', 'CommandEvent'] as const;
export type Column = (typeof COLUMNS)[number];

export const PERMISSION_STRING = /^[r-][w-][x-][n-]$/;

/** 'r-xn' → READ|EXECUTE|NOTIFY. Anything that is not a valid permission string grants nothing. */
export function parseBits(text: string): number {
  if (!PERMISSION_STRING.test(text)) return 0;
  return (text[0] === 'r' ? READ : 0) | (text[1] === 'w' ? WRITE : 0) | (text[2] === 'x' ? EXECUTE : 0) | (text[3] === 'n' ? NOTIFY : 0);
}

export function formatBits(bits: number): string {
  return `${bits & READ ? 'r' : '-'}${bits & WRITE ? 'w' : '-'}${bits & EXECUTE ? 'x' : '-'}${bits & NOTIFY ? 'n' : '-'}`;
}

const BIT_NAMES: Readonly<Record<number, string>> = { [READ]: 'read', [WRITE]: 'write', [EXECUTE]: 'execute', [NOTIFY]: 'notify' };

/** 'Param write', 'CommandEvent execute': how a denial names the missing permission. */
export function describePermission(column: Column, bit: number): string {
  return `${column} ${BIT_NAMES[bit] ?? formatBits(bit)}`;
}
