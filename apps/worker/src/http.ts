import { healthApp, type RunningServer, serveApp } from '@earshot/service';
import type { FinalizeWorker } from './worker.js';

export type HttpServerHandle = Pick<RunningServer, 'server' | 'port' | 'close'>;

/**
 * The worker's small HTTP face: `GET /healthz` (200 when the database and Redis answer, else 503,
 * with a JSON body saying which) and `GET /metrics` (Prometheus text). All interfaces by default:
 * a scraper or orchestrator on another host reads them, and they hold nothing secret.
 */
export async function startHttpServer(
  worker: FinalizeWorker,
  port: number,
  host = '0.0.0.0',
): Promise<HttpServerHandle> {
  const app = healthApp({ health: () => worker.health(), metrics: worker.metrics.registry });
  return serveApp({ fetch: app.fetch, port, host });
}
