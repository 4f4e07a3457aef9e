// An append-only log of numbered records, one JSON object per line, kept within a fixed size by rotation:
// <name> is written, and when the next line would take it past `fileBytes` it becomes <name>.1, <name>.1 becomes
// <name>.2 …, and the oldest of `files` is dropped. Sequence numbers continue across restarts (the newest one on
// disk is read at open).
//
// Crash safety: each line goes to the file in one write(2) before append() returns, so a killed process loses
// nothing it appended; a power cut can leave the last line torn, and open() cuts a torn tail off before appending
// (so the next line never joins it). Lines that still do not parse (a disk that lost part of a block) are skipped
// on read. The writes are synchronous on purpose: a line is a few hundred bytes into the page cache, and a record
// that is in the log as soon as append() returns cannot be lost behind a queue; fdatasync follows, off the caller's
// path.
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs';
import { mkdir, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.ts';

export interface JsonLinesLogOptions {
  readonly dir: string;
  /** The file written; older ones are <name>.1 … <name>.<files - 1>. */
  readonly name: string;
  /** A file is rotated before a line would make it longer than this. */
  readonly fileBytes: number;
  /** Files kept, the one written included (at least 2). */
  readonly files: number;
  /** How many of the newest records open() reads back. */
  readonly recent: number;
  readonly logger: Logger;
}

export interface JsonLinesLog<T extends { readonly seq: number }> {
  /**
   * Gives `make` the next sequence number, writes what it returns as one line and returns it. Never throws: a
   * failed write is logged (the record is still returned, and numbered) and the next append repairs the file.
   */
  append(make: (seq: number) => T): T;
  /** The newest `recent` records on disk when the log was opened, oldest first. */
  readonly recent: readonly T[];
  readonly paths: readonly string[];
  close(): void;
}

const NEWLINE = 0x0a;

/** Records of one file's text, in order; lines that are not a JSON object with a numeric `seq` are skipped. */
function parseLines(text: string): { records: { readonly seq: number }[]; skipped: number } {
  const records: { readonly seq: number }[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value === 'object' && value !== null && typeof (value as { seq?: unknown }).seq === 'number') records.push(value as { seq: number });
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

export async function openJsonLinesLog<T extends { readonly seq: number }>(options: JsonLinesLogOptions): Promise<JsonLinesLog<T>> {
  const { dir, name, fileBytes, files, logger } = options;
  if (files < 2) throw new Error('a rotated log keeps at least 2 files');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = Array.from({ length: files }, (_, i) => join(dir, i === 0 ? name : `${name}.${i}`));

  // A torn last line (power cut mid-write) is cut off, so that the next line starts on a line of its own.
  const current = await readFile(paths[0]!).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  });
  const whole = current.length === 0 ? 0 : current.lastIndexOf(NEWLINE) + 1;
  if (whole < current.length) {
    logger.warn({ file: paths[0], bytes: current.length - whole }, 'cut off a torn last line (the agent stopped while writing it)');
    await truncate(paths[0]!, whole);
  }
  let size = whole;

  // The newest records, newest file first; the highest sequence number seen is where numbering continues.
  const recent: T[] = [];
  let lastSeq = 0;
  let skipped = 0;
  for (let i = 0; i < files && (recent.length < options.recent || lastSeq === 0); i++) {
    const text = i === 0 ? current.subarray(0, whole).toString('utf8') : await readFile(paths[i]!, 'utf8').catch(() => '');
    // What the log wrote is what it reads back: the records are the caller's type.
    const parsed = parseLines(text) as { records: T[]; skipped: number };
    skipped += parsed.skipped;
    for (const record of parsed.records) lastSeq = Math.max(lastSeq, record.seq);
    const room = options.recent - recent.length;
    if (room > 0) recent.unshift(...parsed.records.slice(-room));
  }
  if (skipped > 0) logger.warn({ dir, skipped }, 'skipped unreadable lines in the log');

  let fd: number | undefined = openSync(paths[0]!, 'a', 0o600);
  // A write that failed may have left part of a line: cut back to `size` before the next one.
  let torn = false;
  let syncQueued = false;

  const reopen = (): number => {
    fd ??= openSync(paths[0]!, 'a', 0o600);
    return fd;
  };

  const rotate = (): void => {
    if (fd !== undefined) {
      fdatasyncSync(fd);
      closeSync(fd);
      fd = undefined;
    }
    for (let i = files - 1; i >= 1; i--) {
      try {
        renameSync(paths[i - 1]!, paths[i]!);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    size = 0;
  };

  const syncSoon = (): void => {
    if (syncQueued) return;
    syncQueued = true;
    setImmediate(() => {
      syncQueued = false;
      if (fd === undefined) return;
      fdatasync(fd, (error) => {
        // EBADF: the file was rotated (and synced) meanwhile.
        if (error && error.code !== 'EBADF') logger.error({ err: error, file: paths[0] }, 'syncing the log to disk failed');
      });
    });
  };

  return {
    recent,
    paths,
    append(make) {
      const record = make(++lastSeq);
      const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
      try {
        if (torn) {
          ftruncateSync(reopen(), size);
          torn = false;
        }
        if (size > 0 && size + bytes.length > fileBytes) rotate();
        const target = reopen();
        for (let offset = 0; offset < bytes.length; ) offset += writeSync(target, bytes, offset);
        size += bytes.length;
        syncSoon();
      } catch (error) {
        torn = true;
        logger.error({ err: error, file: paths[0], seq: record.seq }, 'writing to the log failed; the record is kept in memory only');
      }
      return record;
    },
    close() {
      if (fd === undefined) return;
      try {
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
        fd = undefined;
      }
    },
  };
}
