import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { LiveFeed } from '../live.js';
import { rejectParameters } from '../params.js';
import type { RouteDeps } from './deps.js';

/**
 * `/live` (JSON) and `/live/stream` (SSE) from the shared live feed. `close` ends the open SSE
 * responses, so that a server's close() is not held open by them.
 */
export function liveRoutes(live: LiveFeed, { defaults, logger }: RouteDeps): { routes: Hono; close(): void } {
  const routes = new Hono();
  /** Ends each open SSE response (unsubscribes it and lets the handler return). */
  const openStreams = new Set<() => void>();
  const liveConfig = {
    idle: defaults.idleS,
    minSession: defaults.minSessionS,
    maxSession: defaults.maxSessionS,
    aqhQualifier: defaults.aqhQualifierS,
    tz: 'UTC',
    daypart: null,
  };

  routes.get('/live', async (c) => {
    rejectParameters(c.req.queries());
    return c.json({ ...(await live.get()), config: liveConfig });
  });

  routes.get('/live/stream', (c) => {
    rejectParameters(c.req.queries());
    return streamSSE(c, async (stream) => {
      // Abort handling comes first: a client may leave while the first snapshot is being queried,
      // and hono calls only the abort listeners registered by then.
      let unsubscribe: (() => void) | undefined;
      let ended = false;
      let end = () => {};
      const left = new Promise<void>((resolve) => {
        end = () => {
          ended = true;
          unsubscribe?.();
          openStreams.delete(end);
          resolve();
        };
        stream.onAbort(end);
      });
      openStreams.add(end);
      let id = 0;
      const send = (s: unknown) =>
        stream.writeSSE({
          event: 'live',
          id: String(++id),
          data: JSON.stringify({ ...(s as object), config: liveConfig }),
        });
      try {
        await send(await live.get());
      } catch (error) {
        // The timer below retries the query; the client keeps its connection.
        logger?.warn({ err: error }, 'first live snapshot failed');
      }
      if (ended || stream.aborted) return end();
      // A client that reads slower than the feed gets the latest snapshot, not a growing backlog.
      let writing = false;
      unsubscribe = live.subscribe((s) => {
        if (writing) return;
        writing = true;
        send(s)
          .catch(() => {})
          .finally(() => {
            writing = false;
          });
      });
      await left;
    });
  });

  return {
    routes,
    close: () => {
      for (const end of [...openStreams]) end();
    },
  };
}
