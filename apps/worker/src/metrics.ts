import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The worker's Prometheus metrics, on a registry of its own (several workers can share a process in tests). */
export interface WorkerMetrics {
  registry: Registry;
  jobs: Counter<'result'>;
  finalized: Counter<'path'>;
  rowsWritten: Counter;
  sweepRuns: Counter<'result'>;
  sweepFound: Counter;
  lag: Histogram;
  batchSize: Histogram;
  batchSeconds: Histogram;
  rearmed: Counter;
  backlog: Gauge<'kind'>;
  setAside: Counter;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'earshot_worker_' });
  const registers = [registry];
  return {
    registry,
    jobs: new Counter({
      name: 'earshot_worker_jobs_total',
      help: 'Finalize jobs handled, by result: completed, failed, rearmed (events arrived since; delayed to the new due time), retried (a transient error; backed off).',
      labelNames: ['result'],
      registers,
    }),
    finalized: new Counter({
      name: 'earshot_worker_sessions_finalized_total',
      help: 'Session ids finalized (their rows rewritten from their events), by path: job or sweep.',
      labelNames: ['path'],
      registers,
    }),
    rowsWritten: new Counter({
      name: 'earshot_worker_session_rows_written_total',
      help: 'Session and short-session rows inserted, replaced or removed.',
      registers,
    }),
    sweepRuns: new Counter({
      name: 'earshot_worker_sweep_runs_total',
      help: 'Sweeps run, by result: ok or failed.',
      labelNames: ['result'],
      registers,
    }),
    sweepFound: new Counter({
      name: 'earshot_worker_sweep_sessions_found_total',
      help: 'Due, unfinalized session ids the sweep found.',
      registers,
    }),
    lag: new Histogram({
      name: 'earshot_worker_finalize_lag_seconds',
      help: 'Time from a session id falling due (idle after its last event arrived) to its finalization committing.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
      registers,
    }),
    batchSize: new Histogram({
      name: 'earshot_worker_finalize_batch_size',
      help: 'Session ids per finalization transaction.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'earshot_worker_finalize_batch_seconds',
      help: 'Duration of finalization transactions.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    rearmed: new Counter({
      name: 'earshot_worker_sessions_rearmed_total',
      help: 'Session ids of jobs that were not due yet (events arrived since they were scheduled), delayed to their new due time.',
      registers,
    }),
    backlog: new Gauge({
      name: 'earshot_worker_backlog_sessions',
      help: 'Session ids not finalized at their latest change, at the last sweep: pending (all), due, and set_aside (in finalize_failures: they cannot be finalized, retried with backoff).',
      labelNames: ['kind'],
      registers,
    }),
    setAside: new Counter({
      name: 'earshot_worker_sessions_set_aside_total',
      help: "Finalizations that failed because of the session id's own data: the id was set aside in finalize_failures (every other id is finalized).",
      registers,
    }),
  };
}
