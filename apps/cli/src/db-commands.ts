import { parseArgs } from 'node:util';
import type { Env } from './env.js';
import { DataError, UsageError } from './errors.js';

export const MIGRATE_HELP = `Usage: earshot migrate

Creates or updates Earshot's tables (the same migrations ingest, the worker and reports apply at
start) in DATABASE_URL, else in the embedded PGlite in EARSHOT_DATA_DIR (default ./.earshot of the
directory pnpm was run in).`;

export const RETENTION_HELP = `Usage: earshot retention --keep-days N [--dry-run]

Drops the day partitions of raw listen events older than N whole UTC days (sessions, quarter-hour
and minute rows stay). Dropping a partition rewrites nothing else. Run it daily (cron).

A late event is finalized with the events of its session, so the raw events of any session an
event can still arrive for are kept: N must cover ingest's EARSHOT_MAX_EVENT_AGE_S (default 7 days)
plus EARSHOT_MAX_SESSION_S (default 1 day), that is N >= 9 with the defaults. With
EARSHOT_MAX_EVENT_AGE_S=0 (ingest takes events of any age) nothing is refused, and a replayed event
of a dropped day would be finalized without the rest of its session.

Options:
  --keep-days N   whole UTC days of raw events to keep, counting today (N >= 1)
  --dry-run       list what would be dropped, drop nothing`;

const DAY_MS = 86_400_000;

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

/** `earshot retention --keep-days N`: drops old listen_events day partitions. */
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
  const maxAgeS = env.EARSHOT_MAX_EVENT_AGE_S ?? 7 * 86_400;
  const maxSessionS = env.EARSHOT_MAX_SESSION_S ?? 86_400;
  const least = minimumKeepDays(maxAgeS, maxSessionS);
  if (maxAgeS > 0 && keep < least) {
    throw new UsageError(
      `--keep-days: must be at least ${least}: ingest accepts events up to EARSHOT_MAX_EVENT_AGE_S=${maxAgeS} s old, ` +
        `and their sessions (up to EARSHOT_MAX_SESSION_S=${maxSessionS} s) must still have their events`,
    );
  }
  const today = Math.floor(now / 86_400_000) * 86_400_000;
  const before = new Date(today - (keep - 1) * 86_400_000);
  const { dropEventPartitionsBefore, listEventPartitions } = await import('@earshot/db');
  const db = await openDb(env, true);
  try {
    if (values['dry-run']) {
      const old = (await listEventPartitions(db)).filter((p) => p.day.getTime() < before.getTime());
      return `would drop ${old.length} partition(s) before ${before.toISOString().slice(0, 10)}: ${old.map((p) => p.name).join(' ') || '-'}\n`;
    }
    const dropped = await dropEventPartitionsBefore(db, before);
    return `dropped ${dropped.length} partition(s) before ${before.toISOString().slice(0, 10)}: ${dropped.join(' ') || '-'}\n`;
  } finally {
    await db.close();
  }
}
