import { FINALIZE_QUEUE, finalizeJobs, QUEUE_PREFIX } from '@earshot/contract';
import { withTimeout } from '@earshot/service';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Hands finalize jobs to BullMQ after a commit. Never throws: it reports whether the jobs were taken. */
export interface Scheduler {
  /**
   * One delayed job for the session ids (per 1000): a commit's ids cost Redis one job, not one per
   * id. Resolves false on failure or after the timeout.
   */
  schedule(sessions: readonly string[]): Promise<boolean>;
  /**
   * Whether Redis answers a PING within the timeout; if not, why, in words fit for an open
   * readiness endpoint (no address, no driver message).
   */
  ping(): Promise<RedisHealth>;
  close(): Promise<void>;
}

export type RedisHealth = { ok: true } | { ok: false; reason: string };

export interface SchedulerOptions {
  redisUrl: string;
  idleS: number;
  timeoutMs: number;
  logger: Logger;
  /** Queue name; default the shared FINALIZE_QUEUE (tests use their own). */
  queueName?: string | undefined;
  /** BullMQ key prefix; default the shared QUEUE_PREFIX. */
  prefix?: string | undefined;
}

/**
 * A BullMQ producer that fails fast: no offline queue, one retry per command, and a bounded wait,
 * so a Redis outage costs each response at most `timeoutMs` and usually nothing (not connected:
 * deferred at once). Sessions whose jobs were not taken are finalized by the worker's sweep.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const log = options.logger.child({ component: 'scheduler' });
  const redis = new Redis(options.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(1000, options.timeoutMs),
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let lastWarn = 0;
  const warn = (err: unknown, msg: string) => {
    // Once every 10 s at most: an outage must not flood the log.
    if (Date.now() - lastWarn < 10_000) return;
    lastWarn = Date.now();
    log.warn({ err: err instanceof Error ? err.message : String(err) }, msg);
  };
  redis.on('error', (err) => warn(err, 'redis connection error'));
  const queue = new Queue(options.queueName ?? FINALIZE_QUEUE, {
    connection: redis,
    prefix: options.prefix ?? QUEUE_PREFIX,
  });
  queue.on('error', (err) => warn(err, 'finalize queue error'));
  const delay = Math.round(options.idleS * 1000);
  let closed: Promise<void> | undefined;

  return {
    async schedule(sessions) {
      if (sessions.length === 0) return true;
      if (redis.status !== 'ready') {
        warn(new Error(`redis is ${redis.status}`), 'finalize jobs deferred to the sweep');
        return false;
      }
      try {
        await withTimeout(queue.addBulk(finalizeJobs(sessions, delay)), options.timeoutMs, 'addBulk');
        return true;
      } catch (err) {
        warn(err, 'finalize jobs deferred to the sweep');
        return false;
      }
    },
    async ping(): Promise<RedisHealth> {
      if (redis.status !== 'ready') return { ok: false, reason: `not connected (${redis.status})` };
      try {
        const answer = await withTimeout(redis.ping(), options.timeoutMs, 'ping');
        return answer === 'PONG' ? { ok: true } : { ok: false, reason: 'unexpected answer to PING' };
      } catch (err) {
        return {
          ok: false,
          reason: /timed out/.test(String(err))
            ? `no answer to PING within ${options.timeoutMs} ms`
            : 'PING failed',
        };
      }
    },
    close() {
      closed ??= (async () => {
        await queue.close().catch(() => {});
        redis.disconnect();
      })();
      return closed;
    },
  };
}
