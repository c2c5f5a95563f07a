import type { Db } from './client.js';

const DAY_MS = 86_400_000;
const PARTITION_NAME = /^listen_events_(\d{4})(\d{2})(\d{2})$/;
// Serializes partition creation across processes (CREATE TABLE IF NOT EXISTS alone can still race
// on the catalog's unique indexes).
const PARTITION_LOCK_KEY = 0x6561_7270; // "earp"

/** The UTC day number (days since 1970-01-01) of epoch milliseconds. */
export function utcDayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** The partition of listen_events that holds a UTC day: `listen_events_YYYYMMDD`. */
export function eventPartitionName(day: number): string {
  const iso = new Date(day * DAY_MS).toISOString();
  return `listen_events_${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
}

function dayOfPartitionName(name: string): number | undefined {
  const m = PARTITION_NAME.exec(name);
  if (!m) return undefined;
  return utcDayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/**
 * Makes sure listen_events has a partition for each UTC day given (day numbers, see
 * {@link utcDayOf}). Days already known to this process cost nothing; the others are looked up and,
 * when missing, created in their own short transaction under an advisory lock: creating a
 * partition locks the parent table, so it must not happen inside a long insert transaction.
 */
export async function ensureEventPartitions(db: Db, days: Iterable<number>): Promise<void> {
  const wanted = [...new Set(days)].filter((day) => !db.knownEventDays.has(day)).sort((a, b) => a - b);
  if (wanted.length === 0) return;
  const names = wanted.map(eventPartitionName);
  const existing = await db.query<{ name: string }>(
    'select n as name from unnest($1::text[]) as n where to_regclass(n) is not null',
    [names],
  );
  const present = new Set(existing.map((r) => r.name));
  const missing = wanted.filter((day) => !present.has(eventPartitionName(day)));
  if (missing.length > 0) {
    await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
      for (const day of missing) {
        const from = new Date(day * DAY_MS).toISOString();
        const to = new Date((day + 1) * DAY_MS).toISOString();
        // Names and bounds come from integers we computed, never from input.
        await tx.query(
          `create table if not exists ${eventPartitionName(day)} partition of listen_events for values from ('${from}') to ('${to}')`,
        );
      }
    });
    db.logger?.info({ partitions: missing.map(eventPartitionName) }, 'created listen_events partitions');
  }
  for (const day of wanted) db.knownEventDays.add(day);
}

/** The listen_events day partitions that exist, oldest first. */
export async function listEventPartitions(db: Db): Promise<{ name: string; day: Date }[]> {
  const rows = await db.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'listen_events'::regclass`,
  );
  const out: { name: string; day: Date }[] = [];
  for (const { name } of rows) {
    const day = dayOfPartitionName(name);
    if (day !== undefined) out.push({ name, day: new Date(day * DAY_MS) });
  }
  return out.sort((a, b) => a.day.getTime() - b.day.getTime());
}

/**
 * Retention: drops every listen_events day partition that lies wholly before `before` (a partition
 * of day D holds `[D, D+1)`; it is dropped when D+1 <= `before`). Returns the names dropped.
 * Dropping a partition is instant and leaves no bloat, unlike DELETE.
 */
export async function dropEventPartitionsBefore(db: Db, before: Date): Promise<string[]> {
  const limitMs = before.getTime();
  if (Number.isNaN(limitMs)) throw new TypeError('dropEventPartitionsBefore: invalid date');
  const dropped: string[] = [];
  for (const { name, day } of await listEventPartitions(db)) {
    if (day.getTime() + DAY_MS > limitMs) break;
    await db.query(`drop table if exists ${name}`);
    db.knownEventDays.delete(utcDayOf(day.getTime()));
    dropped.push(name);
  }
  if (dropped.length > 0) db.logger?.info({ partitions: dropped }, 'dropped listen_events partitions');
  return dropped;
}
