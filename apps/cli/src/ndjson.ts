import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type ListenEvent, parseEvent } from '@earshot/core';
import { DataError } from './errors.js';

/** What reading an NDJSON event file found. */
export interface ReadStats {
  /** Lines seen, blank ones included. */
  lines: number;
  /** Valid events handed on. */
  events: number;
  /** Malformed lines skipped (with `skipInvalid`). */
  skipped: number;
}

/** One malformed line. */
export interface InvalidLine {
  line: number;
  /** `FILE:LINE: field: reason`. */
  message: string;
}

/**
 * Which lines this reader handles: those whose session id hashes to `index` of `count` parts. With
 * several readers over the same file (one per thread), each session id is read by exactly one.
 */
export interface Part {
  index: number;
  count: number;
}

export interface ReadOptions {
  /** Name used in messages (`FILE:LINE: ...`). */
  name: string;
  /** Skip malformed lines instead of failing. */
  skipInvalid: boolean;
  /** Gets each malformed line when skipping them. */
  onInvalid: (invalid: InvalidLine) => void;
  /** Called now and then (at most every `progressEveryMs`) with the source's bytes read so far. */
  onProgress?: (progress: { bytesRead: number; lines: number }) => void;
  progressEveryMs?: number;
  /** Read only this part of the session ids. Default: all. */
  part?: Part;
}

/** Longest line accepted: a runaway line (a file without newlines) must not eat all memory. */
export const MAX_LINE_CHARS = 1 << 20;
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** A byte source with a counter of its bytes read (for progress). */
export interface Source {
  stream: Readable;
  bytesRead: () => number;
}

/** Opens a file (`-` = stdin) as a byte stream. */
export function openSource(path: string): Source {
  // stdin has no size to show progress against, so its count is not kept.
  if (path === '-') return { stream: process.stdin, bytesRead: () => 0 };
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  return { stream, bytesRead: () => stream.bytesRead };
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

/** Decompresses the stream when it is gzip (by its magic bytes, whatever the file is called). */
async function decoded(stream: Readable): Promise<Readable> {
  const first = await peek(stream);
  if (first && first.length >= 2 && first[0] === GZIP_MAGIC_0 && first[1] === GZIP_MAGIC_1) {
    const gunzip = createGunzip({ chunkSize: 1 << 18 });
    stream.on('error', (error) => gunzip.destroy(error));
    return stream.pipe(gunzip);
  }
  return stream;
}

/** FNV-1a of a string, for spreading session ids over parts. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
}

const SESSION_KEY = '"session"';

/**
 * The value of the first `"session": "..."` member of a JSON line, found without parsing the line:
 * inside a JSON string a quote is always escaped, so the first unescaped `"session"` followed by a
 * colon is a key. Returns undefined when there is none or the value has escapes (then the caller
 * parses the line), and notes a second `"session"` key (JSON.parse would take the last one).
 */
export function scanSession(line: string): { value: string | undefined; repeated: boolean } {
  let at = line.indexOf(SESSION_KEY);
  let value: string | undefined;
  let found = false;
  while (at >= 0) {
    const colon = skipSpace(line, at + SESSION_KEY.length);
    if (line.charCodeAt(colon) === 58) {
      if (found) return { value, repeated: true };
      found = true;
      const quote = skipSpace(line, colon + 1);
      if (line.charCodeAt(quote) === 34) {
        const end = line.indexOf('"', quote + 1);
        if (end > 0) {
          const raw = line.slice(quote + 1, end);
          if (!raw.includes('\\')) value = raw;
        }
      }
      at = line.indexOf(SESSION_KEY, colon);
    } else at = line.indexOf(SESSION_KEY, at + SESSION_KEY.length);
  }
  return { value, repeated: false };
}

function describeIssue(field: string, reason: string): string {
  return `${field === '' ? 'event' : field}: ${reason}`;
}

/**
 * Reads NDJSON listen events from a byte stream: splits lines itself (faster than readline), skips
 * blank lines, parses each line with `JSON.parse` and core's `parseEvent`, and hands valid events
 * to `onEvent`. A malformed line throws a {@link DataError} (`FILE:LINE: field: reason`), or with
 * `skipInvalid` goes to `onInvalid` and is counted. With a `part`, only the lines of that part's
 * session ids are parsed (the others are only scanned for their session id).
 */
export async function readEvents(
  source: Source,
  onEvent: (event: ListenEvent) => void,
  options: ReadOptions,
): Promise<ReadStats> {
  const stats: ReadStats = { lines: 0, events: 0, skipped: 0 };
  const part = options.part ?? { index: 0, count: 1 };
  const input = await decoded(source.stream);
  input.setEncoding('utf8');
  const everyMs = options.progressEveryMs ?? 250;
  let nextProgressAt = options.onProgress ? Date.now() + everyMs : Number.POSITIVE_INFINITY;

  const bad = (message: string) => {
    const full = `${options.name}:${stats.lines}: ${message}`;
    if (!options.skipInvalid) throw new DataError(full, stats.lines);
    stats.skipped++;
    options.onInvalid({ line: stats.lines, message: full });
  };

  /**
   * Which part a line belongs to: by its session id, found by a scan without parsing; a line whose
   * id the scan cannot read for sure (escapes, a repeated key: JSON.parse keeps the last) is parsed
   * by every reader; one without a session id goes by line number (its owner reports it).
   */
  const partOf = (body: string): number => {
    const scan = scanSession(body);
    if (scan.value !== undefined && !scan.repeated) return hashString(scan.value) % part.count;
    try {
      const session = (JSON.parse(body) as { session?: unknown } | null)?.session;
      if (typeof session === 'string') return hashString(session) % part.count;
    } catch {
      // Not JSON: the line's owner reports it.
    }
    return stats.lines % part.count;
  };

  const line = (text: string) => {
    stats.lines++;
    if ((stats.lines & 4095) === 0 && Date.now() >= nextProgressAt) {
      nextProgressAt = Date.now() + everyMs;
      options.onProgress?.({ bytesRead: source.bytesRead(), lines: stats.lines });
    }
    let end = text.length;
    if (end > 0 && text.charCodeAt(end - 1) === 13) end--; // CRLF
    // A UTF-8 byte-order mark on the first line.
    const start = stats.lines === 1 && text.charCodeAt(0) === 0xfeff ? 1 : 0;
    const body = start === 0 && end === text.length ? text : text.slice(start, end);
    // Lines nearly always start with '{': test for a blank line only when not.
    if (body.charCodeAt(0) !== 123 && body.trim().length === 0) return;
    if (part.count > 1 && partOf(body) !== part.index) return;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      bad(`json: ${(error as Error).message}`);
      return;
    }
    const parsed = parseEvent(value);
    if (!parsed.ok) {
      bad(parsed.issues.map((i) => describeIssue(i.field, i.reason)).join('; '));
      return;
    }
    stats.events++;
    onEvent(parsed.event);
  };

  let carry = '';
  const tooLong = () =>
    new DataError(
      `${options.name}:${stats.lines + 1}: line longer than ${MAX_LINE_CHARS} characters`,
      stats.lines + 1,
    );
  for await (const chunk of input as AsyncIterable<string>) {
    let start = 0;
    let newline = chunk.indexOf('\n');
    if (carry.length > 0) {
      if (newline < 0) {
        carry += chunk;
        if (carry.length > MAX_LINE_CHARS) throw tooLong();
        continue;
      }
      line(carry + chunk.slice(0, newline));
      carry = '';
      start = newline + 1;
      newline = chunk.indexOf('\n', start);
    }
    while (newline >= 0) {
      line(chunk.slice(start, newline));
      start = newline + 1;
      newline = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) {
      carry = chunk.slice(start);
      if (carry.length > MAX_LINE_CHARS) throw tooLong();
    }
  }
  if (carry.length > 0) line(carry);
  options.onProgress?.({ bytesRead: source.bytesRead(), lines: stats.lines });
  return stats;
}
