import type { Queryable } from '@earshot/db';
import { bearerAuth, jsonErrors } from '@earshot/service';
import { Hono } from 'hono';
import { LiveFeed } from './live.js';
import { openApiDocument } from './openapi.js';
import type { ReportDefaults } from './params.js';
import type { AppLogger } from './routes/deps.js';
import { liveRoutes } from './routes/live.js';
import { reportRoutes } from './routes/reports.js';
import { serveDashboard } from './routes/static.js';
import { streamRoutes } from './routes/streams.js';
import { trackRoutes } from './routes/tracks.js';
import type { Station } from './stations.js';

export type { AppLogger } from './routes/deps.js';

export interface CreateAppOptions {
  db: Queryable & { ping?(): Promise<void> };
  /** Read-scope bearer tokens (EARSHOT_READ_TOKENS). */
  tokens: readonly string[];
  /** The worker's session settings, the default AQH qualifier and the default zone. */
  defaults: ReportDefaults;
  stations?: readonly Station[];
  logger?: AppLogger;
  /** Live feed refresh (cache and SSE period), ms. Default 5000. */
  liveRefreshMs?: number;
  /** The live feed's clock (epoch ms), for tests. Default `Date.now`. */
  liveClock?: () => number;
}

/**
 * The reports app: the section 7 report API (JSON and CSV), dayparts, breakdowns, live listeners
 * (JSON and SSE), OpenAPI, health, and the dashboard at `/`. `/v1/*` needs a read-scope bearer token.
 * The routes live in `routes/` (the dashboard's files in `routes/static.ts`), mounted here.
 */
export function createApp(options: CreateAppOptions): { app: Hono; live: LiveFeed; close(): void } {
  const { db } = options;
  if (options.tokens.length === 0) throw new Error('createApp: at least one read token is required');
  const deps = { db, defaults: options.defaults, stations: options.stations ?? [], logger: options.logger };
  const live = new LiveFeed(db, {
    refreshMs: options.liveRefreshMs ?? 5000,
    ...(options.liveClock ? { now: options.liveClock } : {}),
    gap: { idleS: options.defaults.idleS },
    onError: (error) => options.logger?.error({ err: error }, 'live listeners query failed'),
  });
  const liveApi = liveRoutes(live, deps);
  const app = new Hono();

  app.onError(jsonErrors(options.logger));
  app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));

  app.get('/healthz', async (c) => {
    try {
      await (db.ping ? db.ping() : db.query('select 1'));
      return c.json({ ok: true });
    } catch {
      return c.json({ ok: false, error: 'database unreachable' }, 503);
    }
  });
  app.get('/openapi.json', (c) => c.json(openApiDocument));
  serveDashboard(app);

  app.use(
    '/v1/*',
    bearerAuth({
      tokens: options.tokens,
      realm: 'earshot-reports',
      body: (why) => ({
        error: 'unauthorized',
        reason: why === 'missing' ? 'send Authorization: Bearer <read token>' : 'unknown token',
      }),
    }),
  );
  app.route('/v1', reportRoutes(deps));
  app.route('/v1', streamRoutes(deps));
  app.route('/v1', trackRoutes(deps));
  app.route('/v1', liveApi.routes);

  return {
    app,
    live,
    close: () => {
      liveApi.close();
      live.close();
    },
  };
}
