// One pass over an access log (plain or gzip) for history: the same mapping and the same event ids
// as the tailing collector (identity from the first line, byte offsets of the uncompressed text).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { ListenEvent } from '@earshot/core';
import { type AccessLogCounts, emptyCounts, fileIdentity, mapLines } from './collector.js';
import type { AccessLogFormat } from './parse-line.js';
import type { AccessLogMapper } from './to-events.js';

export interface ImportProgress {
  /** Bytes of the file (compressed, for gzip) read so far, and its size. */
  bytesRead: number;
  totalBytes: number;
  counts: AccessLogCounts;
}

export interface ImportAccessLogOptions {
  path: string;
  format: AccessLogFormat;
  mapper: AccessLogMapper;
  /** Called with each batch of events, in file order; awaited (back pressure). */
  onEvents: (events: ListenEvent[]) => Promise<void> | void;
  /** Called about every `progressMs` (default 250). */
  onProgress?: (progress: ImportProgress) => void;
  progressMs?: number;
}

/** Reads the whole file and hands its events over in batches; resolves with the counters. */
export async function importAccessLog(options: ImportAccessLogOptions): Promise<AccessLogCounts> {
  const totalBytes = (await stat(options.path)).size;
  const raw = createReadStream(options.path, { highWaterMark: 1024 * 1024 });
  const gzip = await isGzip(options.path);
  const input = gzip ? raw.pipe(createGunzip()) : raw;
  const counts = emptyCounts();
  let identity: string | undefined;
  let carry: Buffer = Buffer.alloc(0);
  let carryOffset = 0;
  let lastProgress = 0;
  const progressMs = options.progressMs ?? 250;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const buffer = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const lines: { text: string; offset: number }[] = [];
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf(10, start);
      if (nl === -1) break;
      const end = nl > start && buffer[nl - 1] === 13 ? nl - 1 : nl;
      lines.push({ text: buffer.toString('utf8', start, end), offset: carryOffset + start });
      start = nl + 1;
    }
    carry = buffer.subarray(start);
    carryOffset += start;
    if (lines.length === 0) continue;
    identity ??= fileIdentity((lines[0] as { text: string }).text);
    const events = await mapLines(lines, identity, options.format, options.mapper, counts);
    if (events.length > 0) await options.onEvents(events);
    const now = performance.now();
    if (options.onProgress && now - lastProgress >= progressMs) {
      lastProgress = now;
      options.onProgress({
        bytesRead: raw.bytesRead,
        totalBytes,
        counts: withMapper(counts, options.mapper),
      });
    }
  }
  // A last line without a line break is not taken: the tailer would not take it either (yet).
  return withMapper(counts, options.mapper);
}

function withMapper(counts: AccessLogCounts, mapper: AccessLogMapper): AccessLogCounts {
  return { ...counts, ...mapper.counts(), lines: counts.lines, bad: counts.bad, events: counts.events };
}

async function isGzip(path: string): Promise<boolean> {
  const stream = createReadStream(path, { start: 0, end: 1 });
  for await (const chunk of stream as AsyncIterable<Buffer>) return chunk[0] === 0x1f && chunk[1] === 0x8b;
  return false;
}
