import type { FinalizeOutcome } from '@earshot/db';

interface Waiter {
  resolve: (outcome: FinalizeOutcome) => void;
  reject: (error: unknown) => void;
}

export interface BatcherOptions {
  /** Most session ids per transaction. */
  maxBatch: number;
  /** Transactions in flight at once. */
  maxInFlight: number;
  /**
   * While a transaction is in flight, how long ids may wait for more to join them before a second
   * one starts, ms. With none in flight an id goes at once. Default 10.
   */
  lingerMs?: number;
  /** Called with each committed batch's outcomes and its duration. */
  onBatch?: (outcomes: FinalizeOutcome[], seconds: number) => void;
}

/**
 * Group commit for finalizations: the BullMQ processor runs one job per session id, but a
 * transaction per id would cap a worker far below its goal. Ids asked for while a transaction is in
 * flight wait and go together in the next one (`finalizeSessions`), so a busy worker writes
 * hundreds of ids per transaction and an idle one still answers a lone job at once.
 */
export class FinalizeBatcher {
  private readonly pending = new Map<string, Waiter[]>();
  private inFlight = 0;
  private scheduled = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** When the oldest pending id was asked for (performance.now()). */
  private oldest = 0;

  private readonly finalizeMany: (sessions: string[]) => Promise<FinalizeOutcome[]>;
  private readonly options: BatcherOptions;

  /** `finalizeMany` finalizes a batch in one transaction: `finalizeSessions(db, ids, settings)`. */
  constructor(finalizeMany: (sessions: string[]) => Promise<FinalizeOutcome[]>, options: BatcherOptions) {
    this.finalizeMany = finalizeMany;
    this.options = options;
  }

  /** Finalizes one session id in the next batch; resolves with its outcome once that batch commits. */
  finalize(session: string): Promise<FinalizeOutcome> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(session);
      if (waiters) waiters.push({ resolve, reject });
      else {
        if (this.pending.size === 0) this.oldest = performance.now();
        this.pending.set(session, [{ resolve, reject }]);
      }
      this.schedule();
    });
  }

  /** Batches waiting plus in flight (for tests and shutdown). */
  get busy(): boolean {
    return this.pending.size > 0 || this.inFlight > 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Let the jobs that arrive in the same turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const lingerMs = this.options.lingerMs ?? 10;
    while (this.inFlight < this.options.maxInFlight && this.pending.size > 0) {
      // A second transaction only for a full batch or ids that waited long enough: small batches
      // cost a transaction each, and jobs arrive one by one.
      const waited = performance.now() - this.oldest;
      if (this.inFlight > 0 && this.pending.size < this.options.maxBatch && waited < lingerMs) {
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = undefined;
          this.flush();
        }, lingerMs - waited);
        return;
      }
      const batch = new Map<string, Waiter[]>();
      for (const [session, waiters] of this.pending) {
        if (batch.size >= this.options.maxBatch) break;
        batch.set(session, waiters);
      }
      for (const session of batch.keys()) this.pending.delete(session);
      this.oldest = performance.now();
      this.inFlight++;
      void this.run(batch);
    }
  }

  private async run(batch: Map<string, Waiter[]>): Promise<void> {
    const started = performance.now();
    try {
      const outcomes = await this.finalizeMany([...batch.keys()]);
      this.options.onBatch?.(outcomes, (performance.now() - started) / 1000);
      for (const outcome of outcomes) {
        for (const waiter of batch.get(outcome.session) ?? []) waiter.resolve(outcome);
        batch.delete(outcome.session);
      }
      for (const [session, waiters] of batch) {
        for (const waiter of waiters)
          waiter.reject(new Error(`finalization returned no outcome for ${session}`));
      }
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
    } finally {
      this.inFlight--;
      if (this.pending.size > 0) this.schedule();
    }
  }
}
