import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { type ListenEvent, parseBatch, parseEvent } from '@earshot/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createCallbackSink } from './callback-sink.js';
import { buildEvent, cleanClientText, type Delivery } from './event.js';
import { createHttpSink } from './http-sink.js';
import { createListenLogger } from './listen-logger.js';

const delivery: Delivery = {
  session: 'S',
  stream: 'live-mp3',
  output: 'shoutcast',
  time: 1_790_000_000_000,
  durationS: 30,
  bytes: 240_000,
};

describe('buildEvent', () => {
  it('turns control characters of a user agent into spaces, so ingest accepts the event', () => {
    const event = buildEvent({ ...delivery, ua: 'Mozilla/5.0\t(X11;\r\nLinux)\u0000\u007fVLC/3\n' }, 'e1');
    expect(event.ua).toBe('Mozilla/5.0 (X11; Linux) VLC/3');
    expect(parseEvent(event).ok).toBe(true);
  });

  it('cuts a long user agent to 1024 characters without splitting a surrogate pair', () => {
    const at1023 = buildEvent({ ...delivery, ua: `${'a'.repeat(1023)}\u{1f4fb}tail` }, 'e1');
    expect(at1023.ua).toBe('a'.repeat(1023));
    expect(buildEvent({ ...delivery, ua: 'b'.repeat(5000) }, 'e2').ua).toHaveLength(1024);
    expect(parseEvent(at1023).ok).toBe(true);
  });

  it('replaces lone surrogates and drops a user agent that is only control characters', () => {
    expect(buildEvent({ ...delivery, ua: 'x\ud800y\udc00' }, 'e1').ua).toBe('x\ufffdy\ufffd');
    expect(buildEvent({ ...delivery, ua: '\t\u0001' }, 'e1')).not.toHaveProperty('ua');
  });

  it('keeps an ip only when it is an IPv4 or IPv6 address', () => {
    expect(buildEvent({ ...delivery, ip: 'unknown' }, 'e1')).not.toHaveProperty('ip');
    expect(buildEvent({ ...delivery, ip: '203.0.113.5\t' }, 'e1').ip).toBe('203.0.113.5');
    expect(buildEvent({ ...delivery, ip: '203.0.113.5:5678' }, 'e1').ip).toBe('203.0.113.5');
    expect(buildEvent({ ...delivery, ip: '::ffff:203.0.113.5' }, 'e1').ip).toBe('203.0.113.5');
    expect(buildEvent({ ...delivery, ip: '2001:DB8::1' }, 'e1').ip).toBe('2001:db8::1');
    expect(buildEvent({ ...delivery, ip: 'x'.repeat(2000) }, 'e1')).not.toHaveProperty('ip');
  });

  it('never emits a NaN duration or byte count', () => {
    const event = buildEvent({ ...delivery, durationS: Number.NaN, bytes: Number.NaN }, 'e1');
    expect(event).toMatchObject({ duration: 0, bytes: 0 });
    expect(parseEvent(event).ok).toBe(true);
  });
});

describe('cleanClientText', () => {
  it('leaves an ordinary user agent alone', () => {
    const ua = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Ünïcödé 📻';
    expect(cleanClientText(ua)).toBe(ua);
    expect(cleanClientText('')).toBeUndefined();
    expect(cleanClientText(null)).toBeUndefined();
  });
});

let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

describe('client-supplied text on the way to ingest', () => {
  it("does not let one listener's user agent, session id or forwarded ip lose everyone's events", async () => {
    // A stub ingest that validates batches whole, as apps/ingest does (DESIGN section 6).
    const accepted: ListenEvent[] = [];
    let refused = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const batch = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as unknown[];
        const parsed = parseBatch(batch);
        if (!parsed.ok) {
          refused++;
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(parsed));
          return;
        }
        accepted.push(...parsed.events);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const sink = createHttpSink({ url: `http://127.0.0.1:${port}`, batchSize: 6, logger: quiet });
    const listen = createListenLogger({ sink });

    for (let i = 0; i < 5; i++) {
      const seg = listen.hlsSegment({
        variant: 'live-64k',
        durationS: 6,
        query: `session_id=S${i}`,
        ua: 'VLC/3',
      });
      seg.sent(1000);
      seg.end();
    }
    // The sixth listener: a tab in its User-Agent, a control character in its ua parameter and
    // session id, a proxy's `unknown` for its address.
    const bad = listen.hlsSegment({
      variant: 'live-64k',
      durationS: 6,
      query: 'session_id=evil%01id&ua=x%0Ay',
      ua: 'Mozilla/5.0\t(X11)',
      ip: 'unknown',
    });
    bad.sent(1000);
    bad.end();
    const tracker = listen.shoutcast({
      stream: 'live-mp3',
      session: 'a\tb',
      bitrateKbps: 64,
      ua: 'a\u0000b',
    });
    tracker.accepted(8000);
    tracker.close();

    const stats = await sink.close({ timeoutMs: 5000 });
    expect(refused).toBe(0);
    expect(stats).toMatchObject({ sent: 7, failed: 0, dropped: 0 });
    expect(accepted[5]).toMatchObject({ ua: 'x y' });
    expect(accepted[5]?.session).not.toContain('\u0001');
    expect(accepted[5]).not.toHaveProperty('ip');
    expect(accepted[6]).toMatchObject({ stream: 'live-mp3', ua: 'a b' });
    expect(accepted[6]?.session).not.toBe('a\tb');
  });
});

const quiet = { warn: () => {}, error: () => {} };

describe('the listen logger', () => {
  it('cleans events for every sink, not only the HTTP one', () => {
    const events: ListenEvent[] = [];
    const listen = createListenLogger({ sink: createCallbackSink((e) => void events.push(e)) });
    listen.hlsMaster({ group: 'live', playlist: '#EXTM3U\n', ua: 'A\tB', ip: '1.2.3.4:80' });
    expect(events[0]).toMatchObject({ ua: 'A B', ip: '1.2.3.4' });
  });
});
