import type { Queryable } from './client.js';
import type { FinalizeSettings } from './finalize/types.js';

/**
 * Settings a running component works with, as stored in `earshot_settings` (one row per
 * component). Ingest records its event time window, the worker the session settings its rows are
 * cut with; other processes (retention, reports, a second worker) read them from the database
 * instead of trusting their own environment.
 */
export interface ComponentSettings<T> {
  settings: T;
  /** When the component last wrote them. */
  updatedAt: Date;
}

/** Settings ingest accepts events with (seconds). Read by `earshot retention` and the session_state prune. */
export interface IngestSettings {
  /** Oldest event accepted, seconds before now (0: any age). */
  maxEventAgeS: number;
  /** Furthest event accepted, seconds after now. */
  maxEventAheadS: number;
}

/** Records `settings` as what `component` runs with now (replacing what it recorded before). */
export async function writeComponentSettings(
  db: Queryable,
  component: string,
  settings: object,
): Promise<void> {
  await db.query(
    `insert into earshot_settings (component, settings, updated_at) values ($1, $2::jsonb, now())
      on conflict (component) do update set settings = excluded.settings, updated_at = excluded.updated_at`,
    [component, JSON.stringify(settings)],
  );
}

/** What `component` recorded last, or undefined when it never ran against this database. */
export async function readComponentSettings<T>(
  db: Queryable,
  component: string,
): Promise<ComponentSettings<T> | undefined> {
  const rows = await db.query<{ settings: T | string; updated_at: Date | string }>(
    'select settings, updated_at from earshot_settings where component = $1',
    [component],
  );
  const row = rows[0];
  if (!row) return undefined;
  // postgres.js and PGlite both parse jsonb; a driver that does not returns text.
  const settings = typeof row.settings === 'string' ? (JSON.parse(row.settings) as T) : row.settings;
  return { settings, updatedAt: new Date(row.updated_at) };
}

/**
 * Whether two sets of finalize settings cut, count and classify sessions the same way (the session
 * settings, and the station's user-agent rules in order; absent rules are no rules). Settings
 * recorded before the rules existed read as having none.
 */
export function sameFinalizeSettings(a: FinalizeSettings, b: FinalizeSettings): boolean {
  const rules = (s: FinalizeSettings) =>
    JSON.stringify([s.agents?.botAgents ?? [], s.agents?.relayAgents ?? [], s.agents?.monitorAgents ?? []]);
  return (
    a.idleS === b.idleS &&
    a.minSessionS === b.minSessionS &&
    a.maxSessionS === b.maxSessionS &&
    rules(a) === rules(b)
  );
}
