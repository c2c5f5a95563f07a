import type { ListenEvent } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { createCallbackSink } from './callback-sink.js';
import { countBody, createFetchAdapter, type FetchAdapterOptions } from './fetch.js';
import { createListenLogger } from './listen-logger.js';

function setup(options: FetchAdapterOptions = {}) {
  const events: ListenEvent[] = [];
  const listen = createListenLogger({ sink: createCallbackSink((e) => void events.push(e)) });
  return { events, web: createFetchAdapter(listen, options) };
}

/** A body of `count` chunks of `size` bytes; `pulled` says how many the source has produced. */
function chunks(count: number, size: number) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === count) controller.close();
      else {
        state.pulled++;
        controller.enqueue(new Uint8Array(size));
      }
    },
  });
  return { stream, state };
}

describe('countBody', () => {
  it('counts what the consumer pulls, and reports a whole read and a cancel apart', async () => {
    const seen: number[] = [];
    const ends: boolean[] = [];
    const whole = countBody(chunks(3, 10).stream, {
      onBytes: (n) => seen.push(n),
      onEnd: (c) => ends.push(c),
    });
    expect(seen).toEqual([]);
    await new Response(whole).arrayBuffer();
    expect(seen).toEqual([10, 10, 10]);

    const cut = countBody(chunks(3, 10).stream, { onBytes: (n) => seen.push(n), onEnd: (c) => ends.push(c) });
    const reader = cut.getReader();
    await reader.read();
    await reader.cancel();
    expect(seen).toEqual([10, 10, 10, 10]);
    expect(ends).toEqual([true, false]);
  });
});

describe('Fetch API adapter', () => {
  it('emits a whole segment with its duration, the size from Content-Length', async () => {
    const { events, web } = setup();
    const request = new Request('http://radio.test/hls/128k/seg-7.ts?session_id=S&ua=hls.js', {
      headers: { 'user-agent': 'Chrome' },
    });
    const source = new Response(chunks(4, 25_000).stream, { headers: { 'content-length': '100000' } });
    const { response } = web.trackSegment(request, source, {
      variant: 'live-128k',
      durationS: 6,
      ip: '198.51.100.7',
    });
    expect((await response.arrayBuffer()).byteLength).toBe(100_000);
    expect(events).toEqual([
      expect.objectContaining({
        session: 'S',
        stream: 'live-128k',
        output: 'hls',
        duration: 6,
        bytes: 100_000,
        ua: 'hls.js',
        ip: '198.51.100.7',
      }),
    ]);
  });

  it('pro-rates a segment whose body the client cancelled', async () => {
    const { events, web } = setup();
    const request = new Request('http://radio.test/seg.ts?session_id=S');
    const body = chunks(4, 25_000);
    const { response } = web.trackSegment(request, new Response(body.stream), {
      variant: 'v',
      durationS: 6,
      totalBytes: 100_000,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ duration: 3, bytes: 50_000 });
  });

  it('tracks a Shoutcast body until the client cancels it', async () => {
    const { events, web } = setup();
    const request = new Request('http://radio.test/stream.mp3?session_id=abc');
    const { response, tracker } = web.trackShoutcast(request, new Response(chunks(1000, 16_000).stream), {
      stream: 'live-mp3',
      bitrateKbps: 128,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    expect(tracker.bytes).toBe(80_000);
    await reader.cancel();
    expect(events).toEqual([
      expect.objectContaining({
        session: 'abc',
        stream: 'live-mp3',
        output: 'shoutcast',
        duration: 5,
        bytes: 80_000,
      }),
    ]);
  });

  it('serves master and variant playlists carrying the session', async () => {
    const { events, web } = setup();
    const master = web.masterPlaylist(
      new Request('http://radio.test/live.m3u8', { headers: { 'x-playback-session-id': 'H1' } }),
      {
        group: 'live',
        playlist: '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n64k.m3u8\n',
      },
    );
    expect(await master.response.text()).toContain('64k.m3u8?session_id=H1\n');
    expect(master.response.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const variant = web.variantPlaylist(new Request('http://radio.test/64k.m3u8?session_id=H1&ua=X'), {
      playlist: '#EXTM3U\n#EXTINF:6,\nseg-1.ts\n',
    });
    expect(await variant.response.text()).toBe('#EXTM3U\n#EXTINF:6,\nseg-1.ts?session_id=H1&ua=X\n');
    expect(events).toEqual([expect.objectContaining({ session: 'H1', stream: 'live', duration: 0 })]);
  });
});

describe('Fetch API adapter, a variant playlist opened directly', () => {
  const VARIANT = '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\nseg-1.ts\n';

  it('redirects to a URL with session_id and ua, so every reload carries one session', async () => {
    const { events, web } = setup();
    const headers = { 'user-agent': 'hls.js' };
    const first = web.variantPlaylist(new Request('https://radio.test/hls/64k/live.m3u8', { headers }), {
      playlist: VARIANT,
      headers: { 'access-control-allow-origin': '*', 'cache-control': 'max-age=60' },
    });
    expect(first.response.status).toBe(302);
    // Never cached, whatever the caller's headers say.
    expect(first.response.headers.get('cache-control')).toBe('no-store');
    expect(first.response.headers.get('access-control-allow-origin')).toBe('*');
    const location = first.response.headers.get('location') as string;
    expect(location).toBe(`./live.m3u8?session_id=${first.served.session}&ua=hls.js`);
    // A middleware may still add headers (the constructor's headers are mutable).
    first.response.headers.set('x-test', '1');

    const at = new URL(location, 'https://radio.test/hls/64k/live.m3u8').href;
    const sessions = new Set<string>();
    for (let reload = 0; reload < 4; reload++) {
      const { response, served } = web.variantPlaylist(new Request(at, { headers }), { playlist: VARIANT });
      expect(response.status).toBe(200);
      expect(await response.text()).toContain(`seg-1.ts?session_id=${first.served.session}&ua=hls.js`);
      sessions.add(served.session);
    }
    expect([...sessions]).toEqual([first.served.session]);
    const segment = web.trackSegment(
      new Request(new URL(`seg-1.ts${new URL(at).search}`, at)),
      new Response('x'),
      {
        variant: 'live-64k',
        durationS: 6,
      },
    );
    await segment.response.arrayBuffer();
    expect(events.map((e) => e.session)).toEqual([first.served.session]);
  });

  it('can be turned off', () => {
    const { web } = setup({ redirectDirectVariants: false });
    const { response } = web.variantPlaylist(new Request('https://radio.test/v.m3u8'), { playlist: VARIANT });
    expect(response.status).toBe(200);
  });
});

describe('Fetch API adapter behind a proxy', () => {
  const master = { group: 'live', playlist: '#EXTM3U\n' };
  const ipOf = (options: FetchAdapterOptions, forwardedFor: string | undefined, ip?: string) => {
    const { events, web } = setup(options);
    const headers: Record<string, string> =
      forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
    web.masterPlaylist(new Request('http://radio.test/live.m3u8', { headers }), { ...master, ip });
    return events[0]?.ip;
  };
  const proxy = '10.0.0.2'; // what getConnInfo reports behind a proxy

  it('uses the ip the call gives and ignores X-Forwarded-For unless told to trust a proxy', () => {
    expect(ipOf({}, '198.51.100.7', proxy)).toBe(proxy);
    expect(ipOf({}, '198.51.100.7')).toBeUndefined();
  });

  it("with a trusted proxy, prefers the header's client to the socket address the call gives", () => {
    expect(ipOf({ trustProxy: true }, '198.51.100.7', proxy)).toBe('198.51.100.7');
    expect(ipOf({ trustProxy: true }, undefined, proxy)).toBe(proxy);
  });

  it('takes the entry the trusted proxy appended (the rightmost), not the one the client wrote', () => {
    expect(ipOf({ trustProxy: true }, '6.6.6.6, 198.51.100.7', proxy)).toBe('198.51.100.7');
    expect(ipOf({ trustProxy: 2 }, '6.6.6.6, 198.51.100.7, 10.0.0.9', proxy)).toBe('198.51.100.7');
  });

  it('strips a port and drops a value that is not an address', () => {
    expect(ipOf({ trustProxy: true }, '198.51.100.7:5678', proxy)).toBe('198.51.100.7');
    expect(ipOf({ trustProxy: true }, '[2001:db8::1]:443', proxy)).toBe('2001:db8::1');
    expect(ipOf({ trustProxy: true }, 'unknown', proxy)).toBeUndefined();
    expect(ipOf({}, undefined, 'not-an-ip')).toBeUndefined();
  });
});
