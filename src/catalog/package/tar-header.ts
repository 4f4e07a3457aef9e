// The tar header rules of an app package. A package is read by berth and may be read again by people with GNU tar
// or any other tar; a header that two readers could take for different members (another name, size or content)
// is how a checked package hides something else. So each header is decoded here only where every common reader
// agrees on what it says, and refused otherwise: stricter than GNU tar, which accepts (and sometimes reads
// differently) base-64 sizes, garbage after numbers, `size=0x2800`-style pax values it then ignores, records
// after a NUL, sparse maps and more. Pure functions over bytes; package-reader.ts decides which members may exist.
// berth writes its tars with the same code (encodeHeader, tar-writer.ts): packages, the image archives it hands to
// Docker, the sample images; one tar code reads and writes them.
import { PackageError } from './package-error.ts';

export const BLOCK = 512;

export interface TarHeader {
  /** The member's name: POSIX ustar prefix + '/' + name, or the name field alone in GNU format. */
  name: string;
  /** The typeflag character. */
  type: string;
  /** The size field: the bytes of data that follow the header. */
  size: number;
  linkName: string;
}

export interface PaxRecord {
  keyword: string;
  value: string;
}

const POSIX_MAGIC = 'ustar\u000000';
const GNU_MAGIC = 'ustar  \u0000';
// Octal digits, after optional leading spaces, ending at the field's end or in spaces/NULs that fill the rest.
const OCTAL_FIELD = /^ *([0-7]+)[ \0]*$/;
const BASE_256_POSITIVE = 0x80;
const DECIMAL = /^[0-9]+$/;
// Seconds since the epoch, optionally negative, with an optional fraction (POSIX pax "File Times").
const PAX_TIME = /^-?([0-9]+)(?:\.[0-9]+)?$/;
const MAX_TIME_SECONDS = 2n ** 63n - 1n;
const MAX_ID = 2 ** 32 - 1;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const MAX_OCTAL_SIZE = 8 ** 11 - 1;
const TYPE_FLAGS = { file: '0', symlink: '2', directory: '5' } as const;

/** What berth writes into a header; the rest is fixed (epoch, no user or group names). */
export interface HeaderFields {
  name: string;
  type?: keyof typeof TYPE_FLAGS;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  linkName?: string;
}

/**
 * A POSIX ustar header that decodeHeader reads back as written: the same fields give the same bytes. Names and link
 * targets must fit their 100-byte fields (no prefix or pax header is written); a size beyond 11 octal digits
 * (8 GiB) is written in GNU base-256, which decodeHeader accepts as GNU tar does.
 */
export function encodeHeader(fields: HeaderFields): Buffer {
  const { name, type = 'file', size = 0, mode = 0o644, uid = 0, gid = 0, linkName = '' } = fields;
  for (const text of [name, linkName]) if (Buffer.byteLength(text) > 100) throw new RangeError(`tar name longer than 100 bytes: ${quoted(text)}`);
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  const octal = (value: number, offset: number, length: number): void => {
    block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1');
  };
  octal(mode, 100, 8);
  octal(uid, 108, 8);
  octal(gid, 116, 8);
  if (size <= MAX_OCTAL_SIZE) octal(size, 124, 12);
  else {
    block[124] = BASE_256_POSITIVE;
    for (let i = 135, rest = size; i > 124; i--, rest = Math.floor(rest / 256)) block[i] = rest % 256;
  }
  octal(0, 136, 12);
  block.write(TYPE_FLAGS[type], 156, 1, 'latin1');
  block.write(linkName, 157, 100, 'utf8');
  block.write(POSIX_MAGIC, 257, 8, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

/** A regular file owned by root, mode 0644, at the epoch. */
export function fileHeader(name: string, size: number): Buffer {
  return encodeHeader({ name, size });
}

/** A value for an error message: quoted, escaped and cut short (it comes from the package). */
export function quoted(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

function cString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/**
 * A ustar numeric field as GNU tar writes it: octal (see OCTAL_FIELD) or, where allowed, GNU base-256 (first byte
 * exactly 0x80, then the value big-endian). Refused although GNU tar takes them: leading tabs, garbage after the
 * terminator, empty fields, base-64 fields of tar 1.13.6–1.13.11 ('+'/'-') and negative base-256 values.
 */
function numericField(block: Buffer, offset: number, length: number, field: string, member: string, base256: boolean): number {
  const bytes = block.subarray(offset, offset + length);
  if (base256 && bytes[0] === BASE_256_POSITIVE) {
    let value = 0;
    for (let i = 1; i < length; i++) value = value * 256 + bytes[i]!;
    if (!Number.isSafeInteger(value)) throw new PackageError('TOO_LARGE', `tar header ${field} field is too large`, member);
    return value;
  }
  const text = bytes.toString('latin1');
  const digits = OCTAL_FIELD.exec(text)?.[1];
  if (digits === undefined) throw new PackageError('CORRUPT', `tar header ${field} field ${quoted(text)} is not an octal number`, member);
  return Number.parseInt(digits, 8);
}

/** The header checksum: octal in its field, matching the unsigned or (as old tars computed it) signed byte sum. */
export function checksumMatches(block: Buffer): boolean {
  const digits = OCTAL_FIELD.exec(block.subarray(148, 156).toString('latin1'))?.[1];
  if (digits === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  const stored = Number.parseInt(digits, 8);
  return stored === unsigned || stored === signed;
}

/** Decodes a header block whose checksum matched. Only POSIX ustar and GNU headers are accepted. */
export function decodeHeader(block: Buffer): TarHeader {
  const magic = block.subarray(257, 265).toString('latin1');
  const posix = magic === POSIX_MAGIC;
  const rawName = cString(block, 0, 100);
  // The prefix field exists only in POSIX ustar; in GNU format those bytes hold other data that GNU tar never
  // joins to the name.
  const prefix = posix ? cString(block, 345, 155) : '';
  const name = prefix ? `${prefix}/${rawName}` : rawName;
  const member = name || '(unnamed member)';
  if (!posix && magic !== GNU_MAGIC) {
    throw new PackageError('CORRUPT', 'tar header is neither POSIX ustar nor GNU format (old V7 headers are not accepted)', member);
  }
  // GNU tar decodes these for every member (and fails on a malformed one); they are checked, not used.
  numericField(block, 100, 8, 'mode', member, true);
  numericField(block, 108, 8, 'uid', member, true);
  numericField(block, 116, 8, 'gid', member, true);
  numericField(block, 136, 12, 'mtime', member, true);
  return {
    name,
    type: String.fromCharCode(block[156]!),
    size: numericField(block, 124, 12, 'size', member, true),
    linkName: cString(block, 157, 100),
  };
}

/**
 * Splits a pax extended header into its records, each exactly `<length> <keyword>=<value>\n` with <length> the
 * decimal byte count of the whole record (no leading zeros, one space after it), filling the header exactly: no
 * NUL anywhere (GNU tar stops reading at one, so records after it would be seen by berth only), valid UTF-8.
 * `member` is the member the header describes, for messages.
 */
export function parsePaxRecords(data: Buffer, member: string): PaxRecord[] {
  const records: PaxRecord[] = [];
  let offset = 0;
  while (offset < data.length) {
    const malformed = (rule: string): PackageError => new PackageError('CORRUPT', `malformed pax extended header: the record at byte ${offset} ${rule}`, member);
    const space = data.indexOf(0x20, offset);
    const lengthText = data.subarray(offset, space === -1 ? offset : space).toString('latin1');
    if (space === -1 || !/^[1-9][0-9]{0,8}$/.test(lengthText)) throw malformed('does not start with its length (decimal digits, no leading zero) and one space');
    const length = Number(lengthText);
    const end = offset + length;
    if (end > data.length) throw malformed(`says it is ${length} bytes long; only ${data.length - offset} are left in the header`);
    if (end <= space + 1 || data[end - 1] !== 0x0a) throw malformed(`does not end with a newline where its length (${length}) says`);
    const body = data.subarray(space + 1, end - 1);
    if (body.includes(0)) throw malformed('contains a NUL byte');
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      throw malformed('is not valid UTF-8');
    }
    const equals = text.indexOf('=');
    if (equals <= 0) throw malformed("has no '<keyword>=' after its length");
    records.push({ keyword: text.slice(0, equals), value: text.slice(equals + 1) });
    offset = end;
  }
  return records;
}

function checkDecimal(keyword: string, value: string, max: number, member: string): number {
  if (!DECIMAL.test(value)) throw new PackageError('CORRUPT', `pax ${keyword} ${quoted(value)} is not a decimal number (digits 0-9 only)`, member);
  const number = Number(value);
  if (number > max) throw new PackageError(keyword === 'size' ? 'TOO_LARGE' : 'CORRUPT', `pax ${keyword} ${value} is out of range (0 to ${max})`, member);
  return number;
}

function checkTime(keyword: string, value: string, member: string): void {
  const seconds = PAX_TIME.exec(value)?.[1];
  if (seconds === undefined) {
    throw new PackageError('CORRUPT', `pax ${keyword} ${quoted(value)} is not a time (decimal seconds, optionally negative, with an optional fraction such as 1700000000.5)`, member);
  }
  if (BigInt(seconds) > MAX_TIME_SECONDS) throw new PackageError('CORRUPT', `pax ${keyword} ${quoted(value)} is out of range`, member);
}

const ACCEPTED_KEYWORDS = ['path', 'size', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname'];

function refusedKeyword(keyword: string): string {
  if (keyword.startsWith('GNU.sparse.')) return 'makes the member a GNU sparse file: tar would rebuild other contents, size or name from it';
  if (keyword === 'linkpath') return 'gives the member a link target';
  if (keyword === 'hdrcharset') return "changes how tar decodes the member's name";
  return `is not accepted (only ${ACCEPTED_KEYWORDS.join(', ')})`;
}

/**
 * Applies the pax records of a regular file's header: returns its size. A keyword that changes what tar reads
 * (sparse maps, links, name encodings, anything unknown) is refused, as is one that appears twice (POSIX takes the
 * last, not every reader does) and `path` unless it repeats the header's own name.
 */
export function applyPaxRecords(records: readonly PaxRecord[], header: TarHeader): number {
  const member = header.name;
  const seen = new Set<string>();
  for (const { keyword } of records) {
    if (seen.has(keyword)) throw new PackageError('UNSAFE_MEMBER', `pax keyword ${quoted(keyword)} appears twice`, member);
    seen.add(keyword);
  }
  let size = header.size;
  for (const { keyword, value } of records) {
    switch (keyword) {
      case 'size':
        size = checkDecimal(keyword, value, Number.MAX_SAFE_INTEGER, member);
        break;
      case 'uid':
      case 'gid':
        checkDecimal(keyword, value, MAX_ID, member);
        break;
      case 'mtime':
      case 'atime':
      case 'ctime':
        checkTime(keyword, value, member);
        break;
      case 'path':
        if (value !== header.name) {
          throw new PackageError('UNSAFE_MEMBER', `pax path ${quoted(value)} differs from the name in the tar header (readers that ignore pax would see another file)`, member);
        }
        break;
      case 'uname':
      case 'gname':
        break;
      default:
        throw new PackageError('UNSAFE_MEMBER', `pax keyword ${quoted(keyword)} ${refusedKeyword(keyword)}`, member);
    }
  }
  return size;
}
