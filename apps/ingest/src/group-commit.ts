import type { ListenEvent } from '@earshot/core';
import { type Db, insertEvents } from '@earshot/db';
import type { Logger } from 'pino';
import type { IngestMetrics } from './metrics.js';
import type { Scheduler } from './schedule.js';

/** What one request learns once its group committed. */
export interface CommitOutcome {
  accepted: number;
  duplicates: number;
  /**
   * Finalization of the touched sessions: `queued` (jobs taken by Redis), `deferred` (Redis failed or
   * timed out; the worker's sweep finalizes them), `off` (no Redis configured), `none` (nothing to
   * schedule: no new events, or their sessions have a finalize job pending already).
   */
  schedule: 'queued' | 'deferred' | 'off' | 'none';
}

/**
 * The request was not committed (answer 503): its group transaction failed (nothing written), or
 * it timed out (`maybeWritten`: the transaction may still commit; a retry is deduplicated).
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  maybeWritten = false;
}

/**
 * The request was refused before it was queued (answer 503 at once): taking it would hold more
 * than the bound on events or bytes waiting for the database. Nothing of it was written.
 */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

/** What the committer holds in memory: requests waiting for a group, and groups being written. */
export interface QueueLoad {
  events: number;
  /** Bytes of the requests' bodies (inflated), as given to submit(). */
  bytes: number;
}

export interface GroupCommitOptions {
  db: Db;
  idleS: number;
  /**
   * How long the first request of a group waits for others while another group is being written,
   * ms (0: no wait). With no group in flight a request goes at once: waiting then would only add
   * to its latency, and under load the groups in flight give the next one time to fill.
   */
  windowMs: number;
  /** Flush without waiting once this many events are pending; also the most events one group takes (a larger request goes alone). */
  maxEvents: number;
  /** Group transactions in flight at once. */
  concurrency: number;
  /**
   * Most events held at once, waiting for a group or inside one not yet committed (QueueFullError
   * beyond). A request is always taken when nothing is held, so one larger than the bound can pass
   * alone. Default unbounded.
   */
  maxQueueEvents?: number;
  /** Most request bytes held at once, counted like maxQueueEvents. Default unbounded. */
  maxQueueBytes?: number;
  scheduler?: Scheduler | undefined;
  metrics: IngestMetrics;
  logger: Logger;
  /**
   * A request not committed this long after it was queued is answered as unavailable (503), ms. A
   * database that stops answering (rather than refusing) would otherwise hold every client. The
   * write may still commit later: nothing acknowledged is lost, and the client's retry then counts
   * as duplicates. Default 10 000.
   */
  timeoutMs?: number;
}

interface Pending {
  events: readonly ListenEvent[];
  bytes: number;
  resolve(outcome: CommitOutcome): void;
  reject(error: Error): void;
}

/**
 * Group commit: requests that arrive within a few ms are written together in one transaction
 * (insertEvents), and each is answered only after that commit with its own counts. An event repeated
 * by several requests of one group is new for the first request that carried it and a duplicate for
 * the others. When the transaction fails, every request of the group fails.
 */
export class GroupCommitter {
  private pending: Pending[] = [];
  private pendingEvents = 0;
  /** Events and bytes waiting or being written: what the bound applies to. */
  private readonly held: QueueLoad = { events: 0, bytes: 0 };
  private timer: NodeJS.Timeout | undefined;
  private windowOver = false;
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private closing = false;
  /** Group transactions attempted (for tests and the bench). */
  groupsStarted = 0;

  private readonly options: GroupCommitOptions;

  constructor(options: GroupCommitOptions) {
    this.options = options;
  }

  /** Events and bytes held now (waiting for a group or being written). */
  load(): QueueLoad {
    return { ...this.held };
  }

  /** Whether the bound is reached: any request but an empty one would be refused now. */
  full(): boolean {
    const { maxQueueEvents = Infinity, maxQueueBytes = Infinity } = this.options;
    return this.held.events >= maxQueueEvents || this.held.bytes >= maxQueueBytes;
  }

  /**
   * Queues a validated batch of `bytes` request bytes; resolves after its group committed. Rejects
   * with QueueFullError at once when taking it would go past the bound.
   */
  submit(events: readonly ListenEvent[], bytes = 0): Promise<CommitOutcome> {
    if (this.closing) return Promise.reject(new StoreUnavailableError('shutting down'));
    const { maxQueueEvents = Infinity, maxQueueBytes = Infinity } = this.options;
    if (
      this.held.events + this.held.bytes > 0 &&
      (this.held.events + events.length > maxQueueEvents || this.held.bytes + bytes > maxQueueBytes)
    ) {
      return Promise.reject(
        new QueueFullError(
          `${this.held.events} events (${this.held.bytes} bytes) are waiting for the database`,
        ),
      );
    }
    this.hold(events.length, bytes);
    return new Promise<CommitOutcome>((resolve, reject) => {
      const timeoutMs = this.options.timeoutMs ?? 10_000;
      const entry: Pending = {
        events,
        bytes,
        resolve: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const at = this.pending.indexOf(entry);
        if (at >= 0) {
          this.pending.splice(at, 1);
          this.pendingEvents -= events.length;
          this.hold(-events.length, -bytes);
        }
        // Not found: its group is being written and still holds the events until it returns.
        const error = new StoreUnavailableError(`not committed within ${timeoutMs} ms`);
        error.maybeWritten = at < 0;
        reject(error);
      }, timeoutMs);
      this.pending.push(entry);
      this.pendingEvents += events.length;
      if (this.options.windowMs <= 0 || this.pendingEvents >= this.options.maxEvents) this.windowOver = true;
      else if (this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.windowOver = true;
          this.pump();
        }, this.options.windowMs);
      }
      this.pump();
    });
  }

  /** Stops taking batches, writes what is pending at once, and waits for every group in flight. */
  async drain(): Promise<void> {
    this.closing = true;
    this.windowOver = true;
    this.pump();
    while (this.running.size > 0 || this.pending.length > 0) {
      await Promise.all([...this.running]);
      this.pump();
    }
  }

  private pump(): void {
    while (
      (this.windowOver || this.inFlight === 0) &&
      this.pending.length > 0 &&
      this.inFlight < this.options.concurrency
    ) {
      const group: Pending[] = [];
      let size = 0;
      while (this.pending.length > 0) {
        const next = this.pending[0]!;
        if (group.length > 0 && size + next.events.length > this.options.maxEvents) break;
        group.push(next);
        size += next.events.length;
        this.pending.shift();
      }
      this.pendingEvents -= size;
      // What is left has waited for a free slot already: it goes as soon as one frees.
      if (this.pending.length === 0) {
        this.windowOver = false;
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.inFlight++;
      let groupBytes = 0;
      for (const p of group) groupBytes += p.bytes;
      const run = this.commit(group, size).finally(() => {
        this.hold(-size, -groupBytes);
        this.inFlight--;
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private hold(events: number, bytes: number): void {
    this.held.events += events;
    this.held.bytes += bytes;
    this.options.metrics.queueEvents.set(this.held.events);
    this.options.metrics.queueBytes.set(this.held.bytes);
  }

  private async commit(group: Pending[], size: number): Promise<void> {
    const { db, idleS, metrics, scheduler, logger } = this.options;
    this.groupsStarted++;
    const events: ListenEvent[] = new Array(size);
    let at = 0;
    for (const p of group) for (const e of p.events) events[at++] = e;

    const started = performance.now();
    let result: Awaited<ReturnType<typeof insertEvents>>;
    try {
      result = await insertEvents(db, events, { idleS });
    } catch (error) {
      metrics.groups.inc({ outcome: 'failed' });
      logger.error({ err: error, requests: group.length, events: size }, 'group transaction failed');
      const failure = new StoreUnavailableError('the event store is unavailable', { cause: error });
      for (const p of group) p.reject(failure);
      return;
    }
    metrics.commitSeconds.observe((performance.now() - started) / 1000);
    metrics.groups.inc({ outcome: 'committed' });
    metrics.groupRequests.observe(group.length);
    metrics.groupEvents.observe(size);
    metrics.eventsAccepted.inc(result.inserted);
    metrics.eventsDuplicate.inc(result.duplicates);

    let schedule: CommitOutcome['schedule'] = 'none';
    if (!scheduler) schedule = 'off';
    else if (result.toSchedule.length > 0) {
      // Only sessions with no job pending: for the others the job waits already and the worker
      // re-arms it to the new due_at, so adding it again would cost Redis a call per event.
      schedule = (await scheduler.schedule(result.toSchedule)) ? 'queued' : 'deferred';
      if (schedule === 'queued') metrics.scheduleJobs.inc(result.toSchedule.length);
      else metrics.scheduleFailures.inc();
    }

    at = 0;
    for (const p of group) {
      let accepted = 0;
      for (let i = 0; i < p.events.length; i++) if (result.isNew[at + i]) accepted++;
      at += p.events.length;
      p.resolve({ accepted, duplicates: p.events.length - accepted, schedule });
    }
  }
}
