import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type ListenEvent, parseEvent, parseEventLine } from '@earshot/core';
import { DataError } from './errors.js';

/** What reading NDJSON events found. */
export interface ReadStats {
  /** Lines seen, blank ones included. */
  lines: number;
  /** Valid events handed on. */
  events: number;
  /** Malformed lines skipped (with `skipInvalid`). */
  skipped: number;
}

/** One malformed line: its number (counted from the reader's first line, 1-based) and what is wrong. */
export interface InvalidLine {
  line: number;
  /** `field: reason` (or `json: ...`). */
  detail: string;
}

/** A malformed line when not skipping them: thrown by {@link readEvents}. */
export class LineError extends DataError {
  readonly detail: string;

  constructor(line: number, detail: string) {
    super(`line ${line}: ${detail}`, line);
    this.detail = detail;
  }
}

export interface ReadOptions {
  /** Skip malformed lines instead of failing. */
  skipInvalid: boolean;
  /** Gets each malformed line when skipping them. */
  onInvalid: (invalid: InvalidLine) => void;
  /** Called now and then (at most every `progressEveryMs`) with the source's bytes read so far. */
  onProgress?: (progress: { bytesRead: number; lines: number }) => void;
  progressEveryMs?: number;
  /**
   * Called once, after the first chunk, with an estimate of the lines to come: the bytes to read
   * (`sizeBytes`) over the average line length so far.
   */
  onEstimate?: (lines: number) => void;
  /** Bytes this reader will read (its range of a file), for `onEstimate`; unknown for stdin. */
  sizeBytes?: number;
  /**
   * Only the lines that start in `[start, end)` of the file (byte offsets). The source must begin
   * at `max(0, start - 1)`: a line starts at 0 or right after a newline.
   */
  range?: { start: number; end: number };
}

/** Longest line accepted, bytes: a runaway line (a file without newlines) must not eat all memory. */
export const MAX_LINE_BYTES = 1 << 20;
/** Bytes read at a time. */
const CHUNK_BYTES = 1 << 16;

/**
 * A byte source with a counter of its bytes read (for progress). A file is read synchronously into
 * one buffer, chunk by chunk as `chunks` is pulled: the reader has nothing else to do meanwhile (an
 * asynchronous read left it idle between chunks for a fifth of its time), and a fresh buffer per
 * chunk (some 3,500 allocations outside the JS heap for 226 MB) held about 12 MB of the peak RSS
 * until the garbage collector got to them. So a file's chunk is only valid until the next one is
 * pulled.
 */
export interface Source {
  /** The bytes: a file's (one reused buffer, see above), or stdin's. */
  chunks: Iterable<Buffer> | Readable;
  bytesRead: () => number;
  /** Stops reading: closes the file (or destroys stdin). */
  close: () => void;
}

/** Opens a file (`-` = stdin) as a source of bytes, from byte `start` on. */
export function openSource(path: string, start = 0): Source {
  // stdin has no size to show progress against, so its count is not kept.
  if (path === '-')
    return { chunks: process.stdin, bytesRead: () => 0, close: () => process.stdin.destroy() };
  let bytesRead = 0;
  function* read(): Generator<Buffer> {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      for (;;) {
        const n = readSync(fd, buffer, 0, CHUNK_BYTES, start + bytesRead);
        if (n === 0) return;
        bytesRead += n;
        yield n === CHUNK_BYTES ? buffer : buffer.subarray(0, n);
      }
    } finally {
      closeSync(fd);
    }
  }
  const chunks = read();
  return {
    chunks,
    bytesRead: () => bytesRead,
    close: () => {
      chunks.return(undefined);
    },
  };
}

function isGzipMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Whether a file is gzip, by its magic bytes (whatever it is called). */
export async function isGzipFile(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await file.read(head, 0, 2, 0);
    return isGzipMagic(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

/** The first chunk of a stream, pushed back so that the stream still yields everything. */
async function peek(stream: Readable): Promise<Buffer | null> {
  for (;;) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      stream.unshift(chunk);
      return chunk;
    }
    if (stream.readableEnded) return null;
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        stream.off('readable', done);
        stream.off('end', done);
        stream.off('error', settle);
        if (error) reject(error);
        else resolve();
      };
      const done = () => settle();
      stream.once('readable', done);
      stream.once('end', done);
      stream.once('error', settle);
    });
    if (stream.readableEnded && stream.readableLength === 0) return null;
  }
}

/** Decompresses the stream when it is gzip (by its magic bytes: also on stdin). */
async function decodedStream(stream: Readable): Promise<Readable> {
  const first = await peek(stream);
  if (first && isGzipMagic(first)) return gunzipped(stream);
  return stream;
}

function gunzipped(stream: Readable): Readable {
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  stream.on('error', (error) => gunzip.destroy(error));
  return stream.pipe(gunzip);
}

/** A file's chunks, decompressed when it is gzip (by its magic bytes, whatever it is called). */
function decodedFile(chunks: Iterable<Buffer>): Iterable<Buffer> | Readable {
  const iterator = chunks[Symbol.iterator]();
  const first = iterator.next();
  if (first.done) return [];
  function* all(copy: boolean): Generator<Buffer> {
    try {
      yield copy ? Buffer.from(first.value) : first.value;
      for (let next = iterator.next(); !next.done; next = iterator.next())
        yield copy ? Buffer.from(next.value) : next.value;
    } finally {
      iterator.return?.();
    }
  }
  // A stream reads ahead of its consumer: there each chunk gets its own copy of the reused buffer.
  return isGzipMagic(first.value) ? gunzipped(Readable.from(all(true))) : all(false);
}

/** The source's bytes, decompressed when they are gzip. */
function decoded(source: Source): Promise<Iterable<Buffer> | Readable> | Iterable<Buffer> | Readable {
  return source.chunks instanceof Readable ? decodedStream(source.chunks) : decodedFile(source.chunks);
}

/** Printable ASCII bytes to a string: Buffer's own latin1 decoder (not in Node's types). */
const latin1 = (bytes: Uint8Array, from: number, to: number): string =>
  (bytes as Buffer & { latin1Slice(from: number, to: number): string }).latin1Slice(from, to);

/** One issue of a record as `field: reason` (`event: ...` or `track: ...` for the record as a whole). */
export function describeIssue(field: string, reason: string, record: string): string {
  return `${field === '' ? record : field}: ${reason}`;
}

/**
 * Reads NDJSON listen events from a byte stream (gzip or not): splits lines itself (faster than
 * readline), skips blank lines, parses each line with `JSON.parse` and core's `parseEvent`, and hands
 * valid events to `onEvent`. A malformed line throws a {@link LineError}, or with `skipInvalid`
 * goes to `onInvalid` and is counted. Line numbers count from the first line read.
 */
export function readEvents(
  source: Source,
  onEvent: (event: ListenEvent) => void,
  options: ReadOptions,
): Promise<ReadStats> {
  return readNdjson(
    source,
    (value) => {
      const parsed = parseEvent(value);
      if (!parsed.ok) return parsed.issues.map((i) => describeIssue(i.field, i.reason, 'event')).join('; ');
      onEvent(parsed.event);
      return undefined;
    },
    options,
    (buf, start, end) => {
      // core's fast path reads the common compact ASCII lines exactly as JSON.parse + parseEvent
      // would, without JSON.parse; it declines every other line.
      const event = parseEventLine(buf, start, end, latin1);
      if (event === undefined) return false;
      onEvent(event);
      return true;
    },
  );
}

/**
 * Reads NDJSON records from a byte stream, as {@link readEvents} does, with `accept` deciding what a
 * parsed line is: it hands the record on and returns undefined, or returns what is wrong with it
 * (`field: reason`). `stats.events` counts the lines accepted. `fast`, when given, sees each
 * non-blank line's bytes `buf[start, end)` first: true means it handed on a valid record itself (no
 * JSON.parse), false that the line takes the general path.
 */
export async function readNdjson(
  source: Source,
  accept: (value: unknown) => string | undefined,
  options: ReadOptions,
  fast?: (buf: Buffer, start: number, end: number) => boolean,
): Promise<ReadStats> {
  const stats: ReadStats = { lines: 0, events: 0, skipped: 0 };
  const input = options.range ? source.chunks : await decoded(source);
  const everyMs = options.progressEveryMs ?? 250;
  let nextProgressAt = options.onProgress ? Date.now() + everyMs : Number.POSITIVE_INFINITY;
  const rangeStart = options.range?.start ?? 0;
  const rangeEnd = options.range?.end ?? Number.POSITIVE_INFINITY;

  const bad = (detail: string) => {
    if (!options.skipInvalid) throw new LineError(stats.lines, detail);
    stats.skipped++;
    options.onInvalid({ line: stats.lines, detail });
  };

  /** One line, `buf[start, end)` without its newline. */
  const line = (buf: Buffer, start: number, end: number) => {
    stats.lines++;
    if ((stats.lines & 4095) === 0 && Date.now() >= nextProgressAt) {
      nextProgressAt = Date.now() + everyMs;
      options.onProgress?.({ bytesRead: source.bytesRead(), lines: stats.lines });
    }
    let from = start;
    let to = end;
    if (to > from && buf[to - 1] === 13) to--; // CRLF
    // A UTF-8 byte-order mark at the start of the file.
    if (
      stats.lines === 1 &&
      rangeStart === 0 &&
      buf[from] === 0xef &&
      buf[from + 1] === 0xbb &&
      buf[from + 2] === 0xbf
    ) {
      from += 3;
    }
    // Lines nearly always start with '{': look for a blank line only when not.
    if (from >= to || (buf[from] !== 123 && buf.toString('utf8', from, to).trim().length === 0)) return;
    if (fast?.(buf, from, to)) {
      stats.events++;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(buf.toString('utf8', from, to));
    } catch (error) {
      bad(`json: ${(error as Error).message}`);
      return;
    }
    const issue = accept(value);
    if (issue !== undefined) {
      bad(issue);
      return;
    }
    stats.events++;
  };

  const tooLong = () => new LineError(stats.lines + 1, `line longer than ${MAX_LINE_BYTES} bytes`);
  // File offset of the current chunk's first byte, and of the next line's first byte.
  let chunkOffset = rangeStart > 0 ? rangeStart - 1 : 0;
  // In a range that does not start the file, the bytes up to the first newline belong to the
  // previous range's last line.
  let skipping = rangeStart > 0;
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let done = false;
  let estimated = false;
  for await (const chunk of input as AsyncIterable<Buffer> | Iterable<Buffer>) {
    let start = 0;
    let newline = chunk.indexOf(10);
    if (skipping) {
      if (newline < 0) {
        chunkOffset += chunk.length;
        continue;
      }
      skipping = false;
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    } else if (carryBytes > 0) {
      if (newline < 0) {
        carry.push(Buffer.from(chunk));
        carryBytes += chunk.length;
        if (carryBytes > MAX_LINE_BYTES) throw tooLong();
        chunkOffset += chunk.length;
        continue;
      }
      carry.push(chunk.subarray(0, newline));
      const joined = Buffer.concat(carry);
      line(joined, 0, joined.length);
      carry = [];
      carryBytes = 0;
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    while (newline >= 0) {
      if (chunkOffset + start >= rangeEnd) {
        done = true;
        break;
      }
      line(chunk, start, newline);
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (done || chunkOffset + start >= rangeEnd) {
      done = true;
      break;
    }
    if (!estimated && stats.lines > 0 && options.onEstimate && options.sizeBytes) {
      estimated = true;
      options.onEstimate(
        Math.ceil(
          (options.sizeBytes / (chunkOffset + start - (rangeStart > 0 ? rangeStart - 1 : 0))) * stats.lines,
        ),
      );
    }
    if (start < chunk.length) {
      // A copy: the chunk's buffer is read into again (see Source).
      carry.push(Buffer.from(chunk.subarray(start)));
      carryBytes = chunk.length - start;
      if (carryBytes > MAX_LINE_BYTES) throw tooLong();
    }
    chunkOffset += chunk.length;
  }
  if (!done && carryBytes > 0) {
    const joined = Buffer.concat(carry);
    line(joined, 0, joined.length);
  }
  options.onProgress?.({ bytesRead: source.bytesRead(), lines: stats.lines });
  return stats;
}
