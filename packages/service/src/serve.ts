import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';

export interface ServeOptions {
  /** A Hono app's `fetch`. */
  fetch: (request: Request, ...rest: never[]) => Response | Promise<Response>;
  /** 0: any free port (see `RunningServer.port`). */
  port: number;
  /** Default `127.0.0.1`: exposed only on purpose. */
  host?: string;
  /**
   * How long `close()` lets requests in flight finish before it ends their connections, ms.
   * Default 0: at once (long-lived responses such as SSE or a stream would hold it open).
   */
  graceMs?: number;
}

export interface RunningServer {
  server: ServerType;
  /** `http://host:port`, the IPv6 host in brackets. */
  url: string;
  /** The address bound. */
  host: string;
  /** The port bound (useful with port 0). */
  port: number;
  /** Stops listening, ends the connections (after `graceMs`) and resolves once closed. Idempotent. */
  close(): Promise<void>;
}

/** Serves `fetch` with @hono/node-server; resolves once listening, rejects if it cannot bind. */
export async function serveApp(options: ServeOptions): Promise<RunningServer> {
  const hostname = options.host ?? '127.0.0.1';
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: options.fetch as never, port: options.port, hostname }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
  const { address: host, port } = server.address() as AddressInfo;
  const endAll = () => (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  let closed: Promise<void> | undefined;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        const grace = options.graceMs ?? 0;
        const timer = grace > 0 ? setTimeout(endAll, grace) : undefined;
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        if (grace <= 0) endAll();
      });
      return closed;
    },
  };
}

export interface HealthAppOptions {
  /** `GET /healthz`: 200 when `ok`, else 503, the object as the JSON body (503 `{ ok: false }` if it throws). */
  health(): Promise<{ ok: boolean }>;
  /** `GET /metrics`: Prometheus text (prom-client's Registry fits). */
  metrics?: { contentType: string; metrics(): Promise<string> };
}

/**
 * The small HTTP face of a service without an API of its own (the worker): `/healthz` and
 * `/metrics`, GET only, nothing cached; every other answer is JSON saying what is there.
 */
export function healthApp(options: HealthAppOptions): Hono {
  const paths = options.metrics ? ['/healthz', '/metrics'] : ['/healthz'];
  const app = new Hono();
  app.use(async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      return c.json({ error: 'method not allowed', allowed: ['GET'] }, 405, { allow: 'GET, HEAD' });
    }
    await next();
    c.header('cache-control', 'no-store');
  });
  app.get('/healthz', async (c) => {
    try {
      const health = await options.health();
      return c.json(health, health.ok ? 200 : 503);
    } catch {
      return c.json({ ok: false }, 503);
    }
  });
  const { metrics } = options;
  if (metrics) {
    app.get('/metrics', async (c) => {
      try {
        return c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType });
      } catch {
        return c.json({ error: 'metrics unavailable' }, 500);
      }
    });
  }
  app.notFound((c) => c.json({ error: 'not found', paths }, 404));
  return app;
}
