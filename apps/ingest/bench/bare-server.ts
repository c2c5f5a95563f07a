// The control for the single-event benchmark: a Hono route on the same server setup
// (@hono/node-server, same body reading and JSON.parse) that does nothing else.
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { readBody } from '../src/body.js';

const app = new Hono<{ Bindings: { incoming?: IncomingMessage } }>();
app.post('/v1/events', async (c) => {
  const body = await readBody(c.req.raw, c.env?.incoming, 5 * 1024 * 1024, false);
  const items = JSON.parse(body.toString('utf8')) as unknown[];
  return c.json({ accepted: items.length, duplicates: 0 });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
