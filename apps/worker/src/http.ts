import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FinalizeWorker } from './worker.js';

export interface HttpServerHandle {
  server: Server;
  /** The port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * The worker's small HTTP face: `GET /healthz` (200 when the database and Redis answer, else 503,
 * with a JSON body saying which) and `GET /metrics` (Prometheus text).
 */
export async function startHttpServer(
  worker: FinalizeWorker,
  port: number,
  host = '0.0.0.0',
): Promise<HttpServerHandle> {
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, JSON.stringify({ error: 'method not allowed', allowed: ['GET'] }));
      return;
    }
    if (path === '/healthz') {
      worker.health().then(
        (health) => send(health.ok ? 200 : 503, JSON.stringify(health)),
        () => send(503, JSON.stringify({ ok: false })),
      );
    } else if (path === '/metrics') {
      worker.metrics.registry.metrics().then(
        (text) => send(200, text, worker.metrics.registry.contentType),
        () => send(500, JSON.stringify({ error: 'metrics unavailable' })),
      );
    } else {
      send(404, JSON.stringify({ error: 'not found', paths: ['/healthz', '/metrics'] }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
