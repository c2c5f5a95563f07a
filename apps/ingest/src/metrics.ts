import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Ingest's Prometheus metrics, on their own registry (one per app instance, so tests do not share). */
export interface IngestMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  eventsAccepted: Counter;
  eventsDuplicate: Counter;
  eventsRejected: Counter<'reason'>;
  tracksAccepted: Counter;
  tracksReplaced: Counter;
  tracksDuplicate: Counter;
  tracksRejected: Counter<'reason'>;
  batchEvents: Histogram;
  commitSeconds: Histogram;
  groupRequests: Histogram;
  groupEvents: Histogram;
  groups: Counter<'outcome'>;
  scheduleJobs: Counter;
  scheduleFailures: Counter;
  queueEvents: Gauge;
  queueBytes: Gauge;
  queueFull: Counter;
  /**
   * 1 when Redis answers PING, 0 when it does not. Not registered by createMetrics: createApp adds it
   * when a scheduler is configured, so a setup without Redis does not report a Redis that is down.
   */
  redisUp: Gauge;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): IngestMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'earshot_ingest_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'earshot_ingest_requests_total',
      help: 'HTTP requests by route and status code.',
      labelNames: ['route', 'status'],
      registers,
    }),
    eventsAccepted: new Counter({
      name: 'earshot_ingest_events_accepted_total',
      help: 'Events written (new), counted after commit.',
      registers,
    }),
    eventsDuplicate: new Counter({
      name: 'earshot_ingest_events_duplicate_total',
      help: 'Events acknowledged that were already stored (retries) or repeated in the same group.',
      registers,
    }),
    eventsRejected: new Counter({
      name: 'earshot_ingest_events_rejected_total',
      help: 'Events in refused batches, by reason (invalid, too_large, unavailable: not committed, answered 503; queue_full: refused at once, 503).',
      labelNames: ['reason'],
      registers,
    }),
    tracksAccepted: new Counter({
      name: 'earshot_ingest_tracks_accepted_total',
      help: 'Track events written as new rows (POST /v1/tracks), counted after commit.',
      registers,
    }),
    tracksReplaced: new Counter({
      name: 'earshot_ingest_tracks_replaced_total',
      help: 'Track events that replaced the stored track of their id with other content (corrections).',
      registers,
    }),
    tracksDuplicate: new Counter({
      name: 'earshot_ingest_tracks_duplicate_total',
      help: 'Track events acknowledged that were stored already as they are (retries), or repeated in the request.',
      registers,
    }),
    tracksRejected: new Counter({
      name: 'earshot_ingest_tracks_rejected_total',
      help: 'Track events in refused requests, by reason (invalid, too_large, unavailable: answered 503).',
      labelNames: ['reason'],
      registers,
    }),
    batchEvents: new Histogram({
      name: 'earshot_ingest_batch_events',
      help: 'Events per accepted request.',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'earshot_ingest_commit_seconds',
      help: 'Time to write and commit one group transaction.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    groupRequests: new Histogram({
      name: 'earshot_ingest_group_requests',
      help: 'Requests committed together in one transaction (group commit).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    groupEvents: new Histogram({
      name: 'earshot_ingest_group_events',
      help: 'Events per group transaction.',
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10_000, 25_000],
      registers,
    }),
    groups: new Counter({
      name: 'earshot_ingest_groups_total',
      help: 'Group transactions, by outcome (committed, failed).',
      labelNames: ['outcome'],
      registers,
    }),
    scheduleJobs: new Counter({
      name: 'earshot_ingest_schedule_jobs_total',
      help: 'Finalize jobs handed to BullMQ (one per session per group).',
      registers,
    }),
    scheduleFailures: new Counter({
      name: 'earshot_ingest_schedule_failures_total',
      help: 'Groups whose finalize jobs could not be handed to Redis in time (the sweep finalizes them).',
      registers,
    }),
    queueEvents: new Gauge({
      name: 'earshot_ingest_queue_events',
      help: 'Events held for the database: waiting for a group commit or inside one not yet committed.',
      registers,
    }),
    queueBytes: new Gauge({
      name: 'earshot_ingest_queue_bytes',
      help: 'Request body bytes (inflated) of the events held for the database.',
      registers,
    }),
    queueFull: new Counter({
      name: 'earshot_ingest_queue_full_total',
      help: 'Requests answered 503 at once because the queue held EARSHOT_QUEUE_MAX_EVENTS or EARSHOT_QUEUE_MAX_BYTES.',
      registers,
    }),
    redisUp: new Gauge({
      name: 'earshot_ingest_redis_up',
      help: 'Whether Redis answered PING at the last readiness check or scrape (1) or not (0). Absent without REDIS_URL.',
      registers: [],
    }),
  };
}
