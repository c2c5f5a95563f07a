// Tails access logs into listen events: reads the lines appended since the saved position
// (following rotation), maps them, hands them to the sink, and saves the new position only once
// ingest has acknowledged every event before it. A crash re-reads at most the unsaved lines, whose
// events have the same ids (file identity, byte offset, line), so nothing is doubled or lost.
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ListenEvent } from '@earshot/core';
import type { EventSink, LoggerLike } from '@earshot/logger';
import { deterministicId, shortHash } from '../shared/deterministic-id.js';
import { type LogPosition, readNewLines } from '../shared/log-tail.js';
import { readStateFile, writeStateFile } from '../shared/state-file.js';
import { type AccessLogFormat, parseAccessLine } from './parse-line.js';
import type { AccessLogMapper, MapperCounts } from './to-events.js';

/** The id of the event made from one log line: the same line at the same place gives the same id. */
export function lineEventId(identity: string, offset: number, line: string): string {
  return deterministicId('access-log', identity, offset, line);
}

/** A file's identity: a hash of its first line, the same after a rename, a copy or gzip. */
export function fileIdentity(firstLine: string): string {
  return shortHash(24, firstLine);
}

/** Counters of a collector or an import run. */
export interface AccessLogCounts extends MapperCounts {
  lines: number;
  /** Lines that are not of the format. */
  bad: number;
  events: number;
}

export function emptyCounts(): AccessLogCounts {
  return {
    lines: 0,
    bad: 0,
    events: 0,
    master: 0,
    segment: 0,
    stream: 0,
    unknownSegment: 0,
    noSession: 0,
    skipped: 0,
  };
}

/** Maps a batch of lines of one file to events, counting what became of them. */
export async function mapLines(
  lines: readonly { text: string; offset: number }[],
  identity: string,
  format: AccessLogFormat,
  mapper: AccessLogMapper,
  counts: AccessLogCounts,
): Promise<ListenEvent[]> {
  const events: ListenEvent[] = [];
  for (const line of lines) {
    counts.lines++;
    if (line.text === '') continue;
    const parsed = parseAccessLine(line.text, format);
    if (!parsed.ok) {
      counts.bad++;
      continue;
    }
    const mapped = mapper.map(parsed.record, lineEventId(identity, line.offset, line.text));
    const event = mapped instanceof Promise ? await mapped : mapped;
    if (event) events.push(event);
  }
  counts.events += events.length;
  return events;
}

interface FileState {
  position?: LogPosition;
  /** Identity by inode (as text: JSON keys). */
  identities: Record<string, string>;
}

interface CollectorState {
  version: 1;
  files: Record<string, FileState>;
  ledger: [string, number][];
}

export interface AccessLogCollectorOptions {
  files: readonly string[];
  format: AccessLogFormat;
  /** Made with the ledger of the saved state: `(ledger) => createAccessLogMapper({ ..., ledger })`. */
  createMapper: (ledger: [string, number][] | undefined) => AccessLogMapper;
  sink: EventSink;
  /** State file (positions, identities, segment ledger). Without it every start begins anew. */
  stateFile?: string;
  /** A file seen for the first time is read from its start, or (default) from its end. */
  from?: 'start' | 'end';
  /** Pause between polls when nothing new was read. Default 250 ms. */
  pollMs?: number;
  /** Ledger entries kept in the state file. Default 10 000. */
  savedLedger?: number;
  logger?: LoggerLike;
}

export interface AccessLogCollector {
  /** Reads and delivers everything appended since the last call; resolves with the lines read. */
  poll(): Promise<number>;
  /** Polls until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
  counts(): AccessLogCounts;
}

const BATCH_EVENTS = 2000;

async function firstLineOf(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(8192);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const nl = buffer.indexOf(10);
    if (nl < 0 || nl >= bytesRead) return undefined;
    return buffer.toString('utf8', 0, nl > 0 && buffer[nl - 1] === 13 ? nl - 1 : nl);
  } finally {
    await handle.close();
  }
}

// The file (the log or a rotated sibling) that has this inode now.
async function pathOfInode(path: string, inode: number): Promise<string | undefined> {
  const dir = dirname(path);
  const name = basename(path);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const candidate of [name, ...names.filter((n) => n !== name && n.startsWith(name))]) {
    try {
      if (Number((await stat(join(dir, candidate))).ino) === inode) return join(dir, candidate);
    } catch {
      // rotated away meanwhile
    }
  }
  return undefined;
}

/** Sends events and waits until ingest acknowledged all of them (retrying through outages). */
async function deliver(
  sink: EventSink,
  events: readonly ListenEvent[],
  signal?: AbortSignal,
): Promise<boolean> {
  for (let i = 0; i < events.length; i += BATCH_EVENTS) {
    for (const event of events.slice(i, i + BATCH_EVENTS)) sink.push(event);
    do {
      if (signal?.aborted) return false;
      await sink.flush({ timeoutMs: 10_000 });
    } while (sink.stats().buffered > 0);
  }
  return true;
}

export async function createAccessLogCollector(
  options: AccessLogCollectorOptions,
): Promise<AccessLogCollector> {
  const saved = options.stateFile ? await readStateFile<CollectorState>(options.stateFile) : undefined;
  const state: CollectorState = saved ?? { version: 1, files: {}, ledger: [] };
  const mapper = options.createMapper(saved?.ledger);
  const counts = emptyCounts();
  const pollMs = options.pollMs ?? 250;
  const keepLedger = options.savedLedger ?? 10_000;
  let signal: AbortSignal | undefined;

  async function identityOf(
    path: string,
    file: FileState,
    inode: number,
    firstLine?: string,
  ): Promise<string> {
    const known = file.identities[String(inode)];
    if (known) return known;
    let line = firstLine;
    if (line === undefined) {
      const where = await pathOfInode(path, inode);
      line = where ? await firstLineOf(where) : undefined;
    }
    // A file whose first line cannot be read any more: its inode stands in (ids stay unique).
    const identity = line === undefined ? `inode-${inode}` : fileIdentity(line);
    file.identities[String(inode)] = identity;
    // Only the identities of the file being read and the one before it matter.
    const keys = Object.keys(file.identities);
    if (keys.length > 4) delete file.identities[keys[0] as string];
    return identity;
  }

  // A file truncated in place and written again past the old position (copytruncate, then a
  // burst) has the same inode and is no shorter: its first line tells it apart.
  async function detectRewrite(path: string, file: FileState): Promise<void> {
    const position = file.position;
    const known = position ? file.identities[String(position.inode)] : undefined;
    if (!position || !known || known.startsWith('inode-') || position.offset === 0) return;
    try {
      if (Number((await stat(path)).ino) !== position.inode) return;
      const first = await firstLineOf(path);
      if (first !== undefined && fileIdentity(first) === known) return;
    } catch {
      return;
    }
    delete file.identities[String(position.inode)];
    file.position = { inode: position.inode, offset: 0 };
  }

  async function pollFile(path: string): Promise<number> {
    const file = state.files[path] ?? { identities: {} };
    state.files[path] = file;
    await detectRewrite(path, file);
    const { lines, position } = await readNewLines(path, file.position, {
      from: options.from ?? 'end',
      maxBytes: 4 * 1024 * 1024,
    });
    if (lines.length === 0) {
      if (position && !file.position) {
        // The starting point of a file read from its end: saved, so lines written before the
        // next save are not skipped by a restart.
        file.position = position;
        if (options.stateFile) await writeStateFile(options.stateFile, state);
      }
      return 0;
    }
    const events: ListenEvent[] = [];
    let start = 0;
    while (start < lines.length) {
      const inode = (lines[start] as { inode: number }).inode;
      let end = start;
      while (end < lines.length && (lines[end] as { inode: number }).inode === inode) end++;
      const slice = lines.slice(start, end);
      const first = slice[0]?.offset === 0 ? slice[0].text : undefined;
      const identity = await identityOf(path, file, inode, first);
      events.push(...(await mapLines(slice, identity, options.format, mapper, counts)));
      start = end;
    }
    if (!(await deliver(options.sink, events, signal))) return 0;
    file.position = position;
    if (options.stateFile) {
      state.ledger = mapper.ledger(keepLedger);
      await writeStateFile(options.stateFile, state);
    }
    return lines.length;
  }

  const collector: AccessLogCollector = {
    async poll() {
      let total = 0;
      for (const path of options.files) total += await pollFile(path);
      return total;
    },
    async run(abort) {
      signal = abort;
      while (!abort.aborted) {
        let read = 0;
        try {
          read = await collector.poll();
        } catch (error) {
          options.logger?.error({ err: error }, 'access log poll failed');
        }
        if (read === 0 && !abort.aborted) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              abort.removeEventListener('abort', done);
              resolve();
            };
            const timer = setTimeout(done, pollMs);
            abort.addEventListener('abort', done, { once: true });
          });
        }
      }
    },
    counts: () => ({
      ...counts,
      ...mapper.counts(),
      lines: counts.lines,
      bad: counts.bad,
      events: counts.events,
    }),
  };
  return collector;
}
