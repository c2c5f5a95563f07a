import { parseArgs } from 'node:util';
import type { dropEventPartitionsBefore, IngestSettings, Queryable } from '@earshot/db';
import type { Env } from './env.js';
import { DataError, UsageError } from './errors.js';
import { terminalSafe } from './terminal-text.js';

export const MIGRATE_HELP = `Usage: earshot migrate

Creates or updates Earshot's tables (the same migrations ingest, the worker and reports apply at
start) in DATABASE_URL, else in the embedded PGlite in EARSHOT_DATA_DIR (default ./.earshot of the
directory pnpm was run in).`;

export const RETENTION_HELP = `Usage: earshot retention --keep-days N [--dry-run]

Drops the day partitions of raw listen events older than N whole UTC days (sessions, quarter-hour
and minute rows stay). Dropping a partition rewrites nothing else. Run it daily (cron).

It never drops raw events that can still be needed:
  - Events ingest still accepts, and the sessions they may join: N must be at least
    1 + (max event age + EARSHOT_MAX_SESSION_S) in days, N >= 9 with the defaults (7 days + 1 day).
    The max event age is the one the running ingest stored in the database at its start; when it
    stored none, EARSHOT_MAX_EVENT_AGE_S of this environment (default 7 days), and the output says
    so. A max event age of 0 (ingest takes events of any age) refuses to drop anything.
  - Days that sessions not finalized yet may read: a day is kept (and named, with why) while a
    session id waiting for its finalization, or set aside in finalize_failures, may read events
    before its end (from its changed_from - EARSHOT_MAX_SESSION_S, else its first event).

On PostgreSQL each partition is detached with DETACH PARTITION ... CONCURRENTLY, which ingest's
inserts and reports do not wait for, then dropped. Each step waits at most 2 s for its locks and is
tried 4 times with backoff; when a long transaction on listen_events holds out, it stops with an
error (exit 1) and the next run finishes the partition it left.

Options:
  --keep-days N   whole UTC days of raw events to keep, counting today (N >= 1)
  --dry-run       list what would be dropped and what is kept, drop nothing

Environment: DATABASE_URL or EARSHOT_DATA_DIR; EARSHOT_MAX_SESSION_S (the worker's, default 86400);
EARSHOT_MAX_EVENT_AGE_S (only when ingest stored none).`;

const DAY_MS = 86_400_000;

// @earshot/db's SkippedPartition (not exported by name yet).
type SkippedPartition = Parameters<
  NonNullable<NonNullable<Parameters<typeof dropEventPartitionsBefore>[2]>['onSkip']>
>[0];

/**
 * The fewest days retention may keep: today and enough whole days before it that every event
 * ingest still accepts (`maxEventAgeS`), and the sessions it may join (`maxSessionS`), are kept.
 */
export function minimumKeepDays(maxEventAgeS: number, maxSessionS: number): number {
  return 1 + Math.ceil(((maxEventAgeS + maxSessionS) * 1000) / DAY_MS);
}

async function openDb(env: Env, migrate: boolean) {
  const { createDb, resolveDataDir } = await import('@earshot/db');
  try {
    return await createDb({
      url: env.DATABASE_URL,
      dataDir: resolveDataDir(env.EARSHOT_DATA_DIR, env),
      migrate,
      maxConnections: 2,
    });
  } catch (error) {
    throw new DataError(`cannot open the database: ${(error as Error).message}`);
  }
}

/** `earshot migrate`: applies the migrations and says where. */
export async function runMigrate(args: readonly string[], env: Env): Promise<string> {
  if (args.includes('-h') || args.includes('--help')) return `${MIGRATE_HELP}\n`;
  if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}" (see earshot migrate --help)`);
  const db = await openDb(env, true);
  try {
    return `migrated ${db.location}\n`;
  } finally {
    await db.close();
  }
}

/** The oldest event ingest accepts (seconds), and where that figure comes from. */
export interface MaxEventAge {
  seconds: number;
  /** Where it comes from, for messages: `stored by ingest at ...` or this environment's variable. */
  source: string;
}

/**
 * The max event age of the running ingest: what it stored in the database (earshot_settings) at
 * its start, else, when it stored none (an ingest from before it recorded its settings, or none
 * started yet), this environment's EARSHOT_MAX_EVENT_AGE_S or its default.
 */
export async function ingestMaxEventAge(db: Queryable, env: Env): Promise<MaxEventAge> {
  const { readComponentSettings } = await import('@earshot/db');
  const stored = await readComponentSettings<IngestSettings>(db, 'ingest');
  if (stored) {
    const seconds = stored.settings?.maxEventAgeS;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw new DataError(
        `ingest's settings in the database have no valid maxEventAgeS (${terminalSafe(JSON.stringify(stored.settings))}): nothing dropped`,
      );
    }
    return { seconds, source: `stored by ingest at ${stored.updatedAt.toISOString()}` };
  }
  const seconds = env.EARSHOT_MAX_EVENT_AGE_S ?? 7 * 86_400;
  const variable =
    env.EARSHOT_MAX_EVENT_AGE_S === undefined
      ? 'the default of EARSHOT_MAX_EVENT_AGE_S'
      : 'EARSHOT_MAX_EVENT_AGE_S of this environment';
  return { seconds, source: `${variable}: ingest stored none in this database` };
}

/** `earshot retention --keep-days N`: drops old listen_events day partitions no one can still need. */
export async function runRetention(args: readonly string[], env: Env, now = Date.now()): Promise<string> {
  let values: { 'keep-days'?: string; 'dry-run'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        'keep-days': { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return `${RETENTION_HELP}\n`;
  const keep = Number(values['keep-days']);
  if (values['keep-days'] === undefined || !Number.isInteger(keep) || keep < 1) {
    throw new UsageError('--keep-days: must be a whole number of days >= 1');
  }
  const maxSessionS = env.EARSHOT_MAX_SESSION_S ?? 86_400;
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const before = new Date(today - (keep - 1) * DAY_MS);
  const { dropEventPartitionsBefore: dropBefore } = await import('@earshot/db');
  const db = await openDb(env, true);
  try {
    const age = await ingestMaxEventAge(db, env);
    if (age.seconds === 0) {
      throw new UsageError(
        `nothing dropped: ingest accepts events of any age (max event age 0, ${age.source}), so any ` +
          'dropped day could still get an event, finalized then without the rest of its session; give ' +
          'ingest a max event age (EARSHOT_MAX_EVENT_AGE_S > 0) and restart it',
      );
    }
    const least = minimumKeepDays(age.seconds, maxSessionS);
    if (keep < least) {
      throw new UsageError(
        `--keep-days: must be at least ${least}: ingest accepts events up to ${age.seconds} s old (${age.source}), ` +
          `and their sessions (up to EARSHOT_MAX_SESSION_S=${maxSessionS} s) must still have their events`,
      );
    }
    const kept: SkippedPartition[] = [];
    let names: string[];
    try {
      names = await dropBefore(db, before, {
        maxSessionS,
        dryRun: values['dry-run'],
        onSkip: (skipped) => kept.push(skipped),
      });
    } catch (error) {
      // Lock timeouts after every try, or another run at work: say what went and what did not.
      if (!(error instanceof Error) || error.name !== 'PartitionDdlError') throw error;
      const dropped = (error as Error & { dropped?: string[] }).dropped ?? [];
      throw new DataError(
        `earshot retention: ${error.message}; ` +
          (dropped.length > 0 ? `dropped before that: ${dropped.join(' ')}` : 'nothing dropped') +
          '; the next run takes it up again',
      );
    }
    const day = before.toISOString().slice(0, 10);
    const lines = [
      `${values['dry-run'] ? 'would drop' : 'dropped'} ${names.length} partition(s) before ${day}: ${names.join(' ') || '-'}`,
      ...kept.map((k) => `kept ${k.name}: ${terminalSafe(k.reason)}`),
      `max event age ${age.seconds} s (${age.source}), max session ${maxSessionS} s`,
    ];
    return `${lines.join('\n')}\n`;
  } finally {
    await db.close();
  }
}
