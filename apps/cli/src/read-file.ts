import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  type FinalizedRuns,
  ReportBuilder,
  type ReportOptions,
  type Session,
  type SessionFacts,
} from '@earshot/core';
import { DataError } from './errors.js';
import { type InvalidLine, openSource, type Part, type ReadStats, readEvents } from './ndjson.js';

/** Files at least this big are read by several threads (when the machine has the cores). */
export const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/** More reader threads than this gain nothing: each one reads and scans the whole file. */
export const MAX_THREADS = 4;

/** What a reader thread is given. */
export interface WorkerInput {
  path: string;
  name: string;
  options: ReportOptions;
  skipInvalid: boolean;
  part: Part;
  maxInvalid: number;
}

/** What a reader thread posts back: its sessions finalized, or the first bad line. */
export type WorkerMessage =
  | { type: 'done'; stats: ReadStats; invalid: InvalidLine[]; counted: SessionFacts[]; short: Session[] }
  | { type: 'data-error'; message: string; line: number };

export interface ReadFileResult {
  finalized: FinalizedRuns;
  stats: ReadStats;
  /** The first `maxInvalid` malformed lines, by line number (all of them are counted in stats). */
  invalid: InvalidLine[];
}

export interface ReadFileOptions {
  path: string;
  name: string;
  options: ReportOptions;
  skipInvalid: boolean;
  maxInvalid: number;
  /** Reader threads; 1 reads in this thread only. */
  threads: number;
  onProgress?: (progress: { bytesRead: number; lines: number }) => void;
}

/** Reader threads for a file of `size` bytes: one per core up to {@link MAX_THREADS} for big files. */
export function defaultThreads(path: string, size: number): number {
  if (path === '-' || size < PARALLEL_MIN_BYTES) return 1;
  return Math.max(1, Math.min(MAX_THREADS, availableParallelism()));
}

function createWorker(input: WorkerInput): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./read-worker.js', import.meta.url), { workerData: input });
  // Run from source (the tests run the CLI with tsx): a worker does not inherit tsx's loader.
  const url = new URL('./read-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(boot, { eval: true, workerData: input });
}

function runWorker(input: WorkerInput): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const worker = createWorker(input);
    let settled = false;
    worker.once('message', (message: WorkerMessage) => {
      settled = true;
      resolve(message);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`reader thread exited with code ${code} before it was done`));
    });
  });
}

/**
 * Reads an NDJSON event file and finalizes its sessions. With several threads, every thread reads the
 * whole file but parses only the lines of its share of the session ids (by a hash of the id), so each
 * session id is finalized by exactly one thread and the results simply add up: a report assembled
 * from them is the same as from one thread. This thread reads share 0.
 */
export async function readFile(o: ReadFileOptions): Promise<ReadFileResult> {
  const count = Math.max(1, Math.floor(o.threads));
  const workers: Promise<WorkerMessage>[] = [];
  for (let index = 1; index < count; index++) {
    workers.push(
      runWorker({
        path: o.path,
        name: o.name,
        options: o.options,
        skipInvalid: o.skipInvalid,
        part: { index, count },
        maxInvalid: o.maxInvalid,
      }),
    );
  }
  // Wait for the threads even when this one fails, so that the earliest bad line is the one reported.
  const settledWorkers = Promise.allSettled(workers);

  const builder = new ReportBuilder(o.options);
  const invalid: InvalidLine[] = [];
  const source = openSource(o.path);
  let own: { stats: ReadStats; finalized: FinalizedRuns } | { error: DataError };
  try {
    const stats = await readEvents(source, (event) => builder.add(event), {
      name: o.name,
      skipInvalid: o.skipInvalid,
      part: { index: 0, count },
      onInvalid: (line) => {
        if (invalid.length < o.maxInvalid) invalid.push(line);
      },
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    own = { stats, finalized: builder.finalize() };
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    own = { error };
  } finally {
    source.stream.destroy();
  }

  const errors: DataError[] = 'error' in own ? [own.error] : [];
  const results: Extract<WorkerMessage, { type: 'done' }>[] = [];
  for (const settled of await settledWorkers) {
    if (settled.status === 'rejected') throw settled.reason;
    const message = settled.value;
    if (message.type === 'data-error') errors.push(new DataError(message.message, message.line));
    else results.push(message);
  }
  if (errors.length > 0) throw errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0))[0]!;
  if ('error' in own) throw own.error;

  const stats = { ...own.stats };
  const finalized = own.finalized;
  for (const result of results) {
    // Every thread saw every line; only events and skipped lines are split between them.
    stats.events += result.stats.events;
    stats.skipped += result.stats.skipped;
    for (const fact of result.counted) finalized.counted.push(fact);
    for (const short of result.short) finalized.short.push(short);
    invalid.push(...result.invalid);
  }
  invalid.sort((a, b) => a.line - b.line);
  return { finalized, stats, invalid: invalid.slice(0, o.maxInvalid) };
}
