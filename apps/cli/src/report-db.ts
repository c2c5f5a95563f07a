import { existsSync } from 'node:fs';
import { DEFAULT_REPORT_SETTINGS, type Report } from '@earshot/core';
import { createDb, reportFromDb, resolveDataDir, shortSessionCounts } from '@earshot/db';
import type { Env } from './env.js';
import { DataError, UsageError } from './errors.js';
import type { ReportRequest } from './report-args.js';

/**
 * `earshot report` without `--events`: the same report from the database the worker fills
 * (`@earshot/db`'s reportFromDb, equal to the offline report on the same events). DATABASE_URL
 * selects PostgreSQL; otherwise the embedded PGlite database in EARSHOT_DATA_DIR, which must exist.
 */
export async function reportFromDatabase(
  request: ReportRequest,
  env: Env,
): Promise<{ report: Report; source: string; shortByStream: Map<string, number> }> {
  // Sessions were cut and counted when the worker finalized them, with the deployment's settings.
  const fixed = [
    ['idle', 'idleS', env.EARSHOT_IDLE_S ?? DEFAULT_REPORT_SETTINGS.idleS, 'EARSHOT_IDLE_S'],
    [
      'min-session',
      'minSessionS',
      env.EARSHOT_MIN_SESSION_S ?? DEFAULT_REPORT_SETTINGS.minSessionS,
      'EARSHOT_MIN_SESSION_S',
    ],
    [
      'max-session',
      'maxSessionS',
      env.EARSHOT_MAX_SESSION_S ?? DEFAULT_REPORT_SETTINGS.maxSessionS,
      'EARSHOT_MAX_SESSION_S',
    ],
  ] as const;
  for (const [option, key, value, variable] of fixed) {
    const asked = request.options[key];
    if (asked !== undefined && asked !== value) {
      throw new UsageError(
        `--${option}: the database holds sessions finalized with ${value} s (${variable}); use --events FILE to try other values`,
      );
    }
  }
  const [classification] = request.classificationOptions;
  if (classification !== undefined)
    throw new UsageError(
      `--${classification}: the worker classified the stored sessions with its own rules (EARSHOT_*_AGENTS) and ingest matched the IP ranges when the events came in; use --events FILE to try other rules`,
    );
  const url = env.DATABASE_URL;
  const dataDir = resolveDataDir(env.EARSHOT_DATA_DIR, env);
  if (url === undefined && !existsSync(dataDir)) {
    throw new UsageError(
      `no database: set DATABASE_URL, or EARSHOT_DATA_DIR to an embedded database (none at ${dataDir}), or give --events FILE.ndjson`,
    );
  }
  let db: Awaited<ReturnType<typeof createDb>>;
  try {
    db = await createDb({ url, dataDir, migrate: false, maxConnections: 4 });
  } catch (error) {
    throw new DataError(`cannot open the database: ${(error as Error).message}`);
  }
  try {
    const report = await reportFromDb(db, request.options);
    const shortByStream = await shortSessionCounts(db, {
      from: Date.parse(report.config.from),
      to: Date.parse(report.config.to),
      streams: request.options.streams,
    });
    return { report, source: `database ${db.location}`, shortByStream };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '42P01')
      throw new DataError(
        `the database at ${db.location} has no Earshot tables yet (start ingest and the worker first)`,
      );
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND')
      throw new DataError(`cannot reach the database: ${(error as Error).message}`);
    throw error;
  } finally {
    await db.close();
  }
}
