import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createEnricher, type Enricher, type IpRanges, openGeoDatabase } from '@earshot/audience';
import {
  EventStore,
  type FinalizedRuns,
  finalizeSessionId,
  type ListenEvent,
  type PackedSession,
  type PlacedSession,
  packedEvents,
  type ReportOptions,
  type ReportSettings,
  resolveSettings,
  type Session,
  SessionCutter,
} from '@earshot/core';
import { DataError } from './errors.js';
import { type InvalidLine, isGzipFile, LineError, openSource, type ReadStats, readEvents } from './ndjson.js';

/** Files at least this big are read by several threads (when the machine has the cores). */
export const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/** More reader threads than this gain little here. */
export const MAX_THREADS = 4;
/**
 * Fewer cores than this: one thread. On 2 cores, 2 threads were no faster in the median than 1 on a
 * busy machine (and only ~20% faster on a quiet one) while each thread's heap added ~60 MB.
 */
export const PARALLEL_MIN_CORES = 4;

/** What a reader thread is given. */
export interface WorkerInput {
  path: string;
  range: { start: number; end: number };
  /** Bytes in the range, to estimate its lines. */
  sizeBytes: number;
  settings: ReportSettings;
  /** Relay and monitor IP ranges (events with an `ip` are enriched as ingest does). */
  ranges: IpRanges;
  skipInvalid: boolean;
  maxInvalid: number;
}

/** Messages of a reader thread: what it read (phase 1), then its finalized sessions (phase 2). */
export type WorkerMessage =
  | {
      type: 'read';
      stats: ReadStats;
      invalid: InvalidLine[];
      error?: { line: number; detail: string };
      ids: string[];
    }
  | { type: 'done'; finalized: FinalizedRuns; shared: PackedSession[] };

/** The phase 1 report of a range that stopped at a malformed line (without --skip-invalid). */
export function readFailure(error: LineError): WorkerMessage & { type: 'read' } {
  return {
    type: 'read',
    stats: { lines: 0, events: 0, skipped: 0 },
    invalid: [],
    ids: [],
    error: { line: error.line!, detail: error.detail },
  };
}

/** What the main thread tells a reader thread after phase 1: the ids other readers also saw. */
export interface FinalizeRequest {
  shared: string[];
}

export interface ReadFileResult {
  /** The counted sessions with their placed listening, and the short ones. */
  finalized: { counted: PlacedSession[]; short: Session[] };
  stats: ReadStats;
  /** The first `maxInvalid` malformed lines (`FILE:LINE: field: reason`); all are counted in stats. */
  invalid: string[];
  /** With `keepStore`: every event read, by session id (`store.events(id)`). */
  store?: EventStore;
}

export interface ReadFileOptions {
  path: string;
  /** Name used in messages (`FILE:LINE: ...`). */
  name: string;
  /** File size in bytes (0 for stdin). */
  size: number;
  options: ReportOptions;
  /** Relay and monitor IP ranges; events with an `ip` get their country and origin as at ingest. */
  ranges: IpRanges;
  skipInvalid: boolean;
  maxInvalid: number;
  /** Reader threads; 1 reads in this thread only. */
  threads: number;
  /**
   * Keep the events and return their store (for the track figures, which need each session's
   * events): read in this thread only, whatever `threads` says.
   */
  keepStore?: boolean;
  onProgress?: (progress: { bytesRead: number; lines: number }) => void;
}

/**
 * Reader threads for a file of `size` bytes: one per core up to {@link MAX_THREADS} for big plain
 * files on machines with {@link PARALLEL_MIN_CORES} cores or more; otherwise one.
 */
export function defaultThreads(path: string, size: number, cores = availableParallelism()): number {
  if (path === '-' || size < PARALLEL_MIN_BYTES || cores < PARALLEL_MIN_CORES) return 1;
  return Math.min(MAX_THREADS, cores);
}

/**
 * Adds events to a store as ingest would store them: an event with an `ip` gets its country (the
 * shipped IP database, opened at the first such event) and its relay or monitor origin first; the
 * ip itself is not kept (the store has no column for it).
 */
export function storeAdder(store: EventStore, ranges: IpRanges): (event: ListenEvent) => void {
  return enrichedAdder(ranges, (event) => store.add(event));
}

/** `add` of each event after the enrichment of {@link storeAdder}. */
function enrichedAdder(ranges: IpRanges, add: (event: ListenEvent) => void): (event: ListenEvent) => void {
  let enrich: Enricher | undefined;
  return (event) => {
    if (event.ip !== undefined) {
      enrich ??= createEnricher({ geo: openGeoDatabase(), ranges });
      enrich(event);
    }
    add(event);
  };
}

/**
 * Finalizes every session id of a store (as core's ReportBuilder does, id by id) except those in
 * `keep`, which stay in the store.
 */
export function finalizeStore(
  store: EventStore,
  settings: ReportSettings,
  keep?: ReadonlySet<string>,
): FinalizedRuns {
  const finalized: FinalizedRuns = { counted: [], short: [] };
  for (const id of store.sessions.keys()) {
    if (keep?.has(id)) continue;
    const done = finalizeSessionId(store.events(id), settings);
    for (const fact of done.counted) finalized.counted.push(fact);
    for (const short of done.short) finalized.short.push(short);
  }
  return finalized;
}

function createWorker(input: WorkerInput): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./read-thread.js', import.meta.url), { workerData: input });
  // Run from source (the tests run the CLI with tsx): a worker does not inherit tsx's loader.
  const url = new URL('./read-thread.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(boot, { eval: true, workerData: input });
}

/** A reader thread as two promises: its phase 1 report, and (after `finalize`) its sessions. */
function startWorker(input: WorkerInput) {
  const worker = createWorker(input);
  const messages: WorkerMessage[] = [];
  const waiting: ((message: WorkerMessage) => void)[] = [];
  let failure: Error | undefined;
  const failed: ((error: Error) => void)[] = [];
  worker.on('message', (message: WorkerMessage) => {
    const next = waiting.shift();
    if (next) next(message);
    else messages.push(message);
  });
  const fail = (error: Error) => {
    failure ??= error;
    for (const reject of failed.splice(0)) reject(error);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (waiting.length > 0) fail(new Error(`reader thread exited with code ${code} before it was done`));
  });
  const next = () =>
    new Promise<WorkerMessage>((resolve, reject) => {
      const queued = messages.shift();
      if (queued) return resolve(queued);
      if (failure) return reject(failure);
      waiting.push(resolve);
      failed.push(reject);
    });
  return {
    read: next() as Promise<Extract<WorkerMessage, { type: 'read' }>>,
    finalize(request: FinalizeRequest) {
      worker.postMessage(request);
      return next() as Promise<Extract<WorkerMessage, { type: 'done' }>>;
    },
    stop: () => worker.terminate(),
  };
}

/** The byte ranges of `count` readers over a file of `size` bytes. */
export function splitRanges(size: number, count: number): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (let k = 0; k < count; k++) {
    ranges.push({
      start: Math.floor((size * k) / count),
      end: k === count - 1 ? Number.POSITIVE_INFINITY : Math.floor((size * (k + 1)) / count),
    });
  }
  return ranges;
}

/** Thrown out of the read when an event comes before its session id's latest. */
const OUT_OF_ORDER = new Error('events out of time order within a session id');

/**
 * Reads a file in this thread and cuts sessions as it goes (core's SessionCutter): memory holds
 * each session id's open session, not every event. Needs the events of each session id in time
 * order (as exports by time or by session and time are); undefined at the first event that is not,
 * so that the file is read again the general way.
 */
async function readCutting(
  o: ReadFileOptions,
  settings: ReportSettings,
): Promise<ReadFileResult | undefined> {
  const cutter = new SessionCutter(settings);
  const invalid: string[] = [];
  const source = openSource(o.path);
  try {
    const stats = await readEvents(
      source,
      enrichedAdder(o.ranges, (event) => {
        if (!cutter.add(event)) throw OUT_OF_ORDER;
      }),
      {
        skipInvalid: o.skipInvalid,
        onInvalid: ({ line, detail }) => {
          if (invalid.length < o.maxInvalid) invalid.push(`${o.name}:${line}: ${detail}`);
        },
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      },
    );
    return { finalized: cutter.finish(), stats, invalid };
  } catch (error) {
    if (error === OUT_OF_ORDER) return undefined;
    if (error instanceof LineError)
      throw new DataError(`${o.name}:${error.line}: ${error.detail}`, error.line);
    throw error;
  } finally {
    source.close();
  }
}

/** Reads everything in this thread. */
async function readSingle(
  o: ReadFileOptions,
  settings: ReportSettings,
  gzip: boolean,
): Promise<ReadFileResult> {
  const store = new EventStore();
  const invalid: string[] = [];
  const source = openSource(o.path);
  try {
    const stats = await readEvents(source, storeAdder(store, o.ranges), {
      skipInvalid: o.skipInvalid,
      // A gzip file's size says little about its lines: let the store grow then.
      ...(o.size > 0 && !gzip
        ? { sizeBytes: o.size, onEstimate: (lines: number) => store.reserve(lines * 1.02) }
        : {}),
      onInvalid: ({ line, detail }) => {
        if (invalid.length < o.maxInvalid) invalid.push(`${o.name}:${line}: ${detail}`);
      },
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    const finalized = finalizeStore(store, settings);
    return o.keepStore ? { finalized, stats, invalid, store } : { finalized, stats, invalid };
  } catch (error) {
    if (error instanceof LineError)
      throw new DataError(`${o.name}:${error.line}: ${error.detail}`, error.line);
    throw error;
  } finally {
    source.close();
  }
}

/**
 * Reads an NDJSON event file and finalizes its sessions. A big plain file is cut into byte ranges,
 * one per thread (this one reads the first); each thread parses its lines into its own store. Most
 * session ids then live in one range only and are finalized where they were read; the ids seen by
 * several threads (sessions across a range boundary, or a file not in time order) are gathered here
 * and finalized once with all their events. Either way every id is finalized exactly once from all
 * its events, so the report is the same as from one thread.
 */
export async function readFile(o: ReadFileOptions): Promise<ReadFileResult> {
  const settings = resolveSettings(o.options);
  const count = Math.max(1, Math.floor(o.threads));
  const gzip = o.path !== '-' && o.size > 0 && (await isGzipFile(o.path));
  if (count === 1 || o.keepStore || o.path === '-' || o.size === 0 || gzip) {
    // stdin cannot be read again should its events turn out not to be in order.
    const cut = o.keepStore || o.path === '-' ? undefined : await readCutting(o, settings);
    return cut ?? readSingle(o, settings, gzip);
  }

  const ranges = splitRanges(o.size, count);
  const workers = ranges.slice(1).map((range) =>
    startWorker({
      path: o.path,
      range,
      sizeBytes: Math.min(range.end, o.size) - range.start,
      settings,
      ranges: o.ranges,
      skipInvalid: o.skipInvalid,
      maxInvalid: o.maxInvalid,
    }),
  );
  try {
    // Phase 1: every thread reads its range (this one the first).
    const store = new EventStore();
    const ownInvalid: InvalidLine[] = [];
    const source = openSource(o.path, 0);
    let own: Extract<WorkerMessage, { type: 'read' }>;
    try {
      const stats = await readEvents(source, storeAdder(store, o.ranges), {
        skipInvalid: o.skipInvalid,
        range: ranges[0]!,
        sizeBytes: ranges[0]!.end,
        onEstimate: (lines) => store.reserve(lines * 1.02),
        onInvalid: (invalid) => {
          if (ownInvalid.length < o.maxInvalid) ownInvalid.push(invalid);
        },
        // This thread's share stands for the whole file's progress.
        ...(o.onProgress
          ? { onProgress: (p) => o.onProgress?.({ bytesRead: p.bytesRead * count, lines: p.lines * count }) }
          : {}),
      });
      own = { type: 'read', stats, invalid: ownInvalid, ids: [] };
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      own = readFailure(error);
    } finally {
      source.close();
    }
    const reads = [own, ...(await Promise.all(workers.map((w) => w.read)))];

    // Line numbers: a range's lines follow all lines of the ranges before it. The first range
    // with a bad line holds the file's first bad line (earlier ranges were read to their end).
    let base = 0;
    const invalid: string[] = [];
    const stats: ReadStats = { lines: 0, events: 0, skipped: 0 };
    for (const read of reads) {
      if (read.error)
        throw new DataError(
          `${o.name}:${base + read.error.line}: ${read.error.detail}`,
          base + read.error.line,
        );
      for (const bad of read.invalid)
        if (invalid.length < o.maxInvalid) invalid.push(`${o.name}:${base + bad.line}: ${bad.detail}`);
      base += read.stats.lines;
      stats.lines += read.stats.lines;
      stats.events += read.stats.events;
      stats.skipped += read.stats.skipped;
    }

    // Phase 2: ids seen by more than one thread are finalized here, all others where they were read.
    const seen = new Set<string>(store.sessions.keys());
    const shared = new Set<string>();
    for (const read of reads.slice(1)) {
      for (const id of read.ids) {
        if (seen.has(id)) shared.add(id);
        else seen.add(id);
      }
    }
    const request: FinalizeRequest = { shared: [...shared] };
    const pending = workers.map((w) => w.finalize(request));
    const finalized = finalizeStore(store, settings, shared);
    // A shared id's events: this thread's (still in its store) and each other thread's, packed.
    const sharedEvents = new Map<string, ListenEvent[]>();
    for (const id of shared) sharedEvents.set(id, store.events(id));
    for (const done of await Promise.all(pending)) {
      for (const fact of done.finalized.counted) finalized.counted.push(fact);
      for (const short of done.finalized.short) finalized.short.push(short);
      for (const packed of done.shared) {
        const events = sharedEvents.get(packed.session)!;
        for (const event of packedEvents(packed)) events.push(event);
      }
    }
    for (const events of sharedEvents.values()) {
      const done = finalizeSessionId(events, settings);
      for (const fact of done.counted) finalized.counted.push(fact);
      for (const short of done.short) finalized.short.push(short);
    }
    return { finalized, stats, invalid };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
