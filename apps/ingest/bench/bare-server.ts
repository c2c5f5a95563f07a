// The control for the single-event benchmark: a Hono route on the same server setup as ingest
// (@hono/node-server's `serve`, which ingest's serveApp wraps; the same node binary, no extra flags)
// that reads the body with ingest's readBody and parses it with ingest's parseItems (strict UTF-8,
// JSON.parse, must be an array), then answers the same JSON shape. It does nothing else: no token
// check, no validation, no database, no metrics.
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { parseItems, readBody } from '../src/body.js';

const app = new Hono<{ Bindings: { incoming?: IncomingMessage } }>();
app.post('/v1/events', async (c) => {
  const body = await readBody(c.req.raw, c.env?.incoming, 5 * 1024 * 1024, false);
  const items = parseItems(body, 'json', 10_000);
  return c.json({ accepted: items.length, duplicates: 0 });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
