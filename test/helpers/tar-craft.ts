// Tar bytes crafted by hand, for packages that tar libraries refuse to write: headers with chosen fields and a
// correct checksum, pax extended headers with chosen records, and gzip bombs that cost nothing to build.
import { gzipSync } from 'node:zlib';

export const BLOCK = 512;

export interface HeaderFields {
  name: string;
  size: number;
  type?: string;
  linkname?: string;
  prefix?: string;
  /** The 12 bytes of the size field as given, instead of the octal of `size`. */
  sizeField?: Buffer | string;
  mtimeField?: string;
  /** POSIX ustar (default), GNU ('ustar  ' + NUL) or none (an old V7 header). */
  magic?: 'posix' | 'gnu' | 'v7';
}

/** A tar header with a correct checksum, for members tar libraries refuse to write. */
export function header(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, 'utf8');
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  if (fields.sizeField === undefined) block.write(`${fields.size.toString(8).padStart(11, '0')}\0`, 124);
  else (Buffer.isBuffer(fields.sizeField) ? fields.sizeField : Buffer.from(fields.sizeField, 'latin1')).copy(block, 124, 0, 12);
  block.write(fields.mtimeField ?? '00000000000\0', 136, 12, 'latin1');
  block.write(fields.type ?? '0', 156, 'latin1');
  if (fields.linkname) block.write(fields.linkname, 157, 100);
  const magic = fields.magic ?? 'posix';
  if (magic === 'posix') block.write('ustar\x0000', 257, 'latin1');
  if (magic === 'gnu') block.write('ustar  \0', 257, 'latin1');
  if (fields.prefix) block.write(fields.prefix, 345, 155);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

export function padded(data: Buffer): Buffer {
  const out = Buffer.alloc(Math.ceil(data.length / BLOCK) * BLOCK);
  data.copy(out);
  return out;
}

export function member(name: string, data: Buffer | string, type = '0', extra: Partial<HeaderFields> = {}): Buffer {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return Buffer.concat([header({ name, size: bytes.length, type, ...extra }), padded(bytes)]);
}

/** One pax record, `<length> <keyword>=<value>\n`, with its length computed as POSIX says. */
export function record(keyword: string, value: string): string {
  const text = ` ${keyword}=${value}\n`;
  let length = Buffer.byteLength(text) + 1;
  while (Buffer.byteLength(`${length}${text}`) !== length) length = Buffer.byteLength(`${length}${text}`);
  return `${length}${text}`;
}

/** A pax extended header ('x', or 'g' for a global one) holding exactly `body`. */
export function paxRaw(body: string | Buffer, type = 'x'): Buffer {
  return member('PaxHeader/image.tar', Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), type);
}

export function pax(records: Record<string, string>): Buffer {
  return paxRaw(Object.entries(records).map(([keyword, value]) => record(keyword, value)).join(''));
}

export const END = Buffer.alloc(2 * BLOCK);

/**
 * A gzip bomb that costs nothing to build: `head`, then `zeroMiB` MiB of zeros, then `tail`, each MiB of zeros its
 * own gzip member (about 1 KiB), as gzip readers join concatenated members into one stream.
 */
export function gzipBomb(head: Buffer, zeroMiB: number, tail: Buffer = Buffer.alloc(0)): Buffer {
  const mebibyteOfZeros = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return Buffer.concat([gzipSync(head), ...Array.from({ length: zeroMiB }, () => mebibyteOfZeros), gzipSync(tail)]);
}
