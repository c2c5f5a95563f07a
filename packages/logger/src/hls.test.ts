import type { ListenEvent } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { createCallbackSink } from './callback-sink.js';
import { createListenLogger } from './listen-logger.js';

function setup() {
  const events: ListenEvent[] = [];
  let n = 0;
  const listen = createListenLogger({
    sink: createCallbackSink((event) => {
      events.push(event);
    }),
    now: () => 1_790_000_000_000,
    newId: () => `id-${++n}`,
  });
  return { events, listen };
}

const MASTER =
  '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=70000\n64k.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=140000\n128k.m3u8\n';
const VARIANT =
  '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:6.0,\nseg-7.ts\n#EXTINF:6.0,\nseg-8.ts\n';

describe('HLS master playlist', () => {
  it('emits a zero-duration start event with the group key and carries session_id and ua into variant URIs', () => {
    const { events, listen } = setup();
    const served = listen.hlsMaster({
      group: 'live',
      playlist: MASTER,
      query: 'x=1',
      ua: 'ffmpeg/5',
      ip: '::1',
    });
    expect(served.session).toBe('id-1');
    expect(served.source).toBe('new');
    expect(served.playlist).toBe(
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=70000\n64k.m3u8?session_id=id-1&ua=ffmpeg%2F5\n#EXT-X-STREAM-INF:BANDWIDTH=140000\n128k.m3u8?session_id=id-1&ua=ffmpeg%2F5\n',
    );
    expect(events).toEqual([
      {
        id: 'id-2',
        session: 'id-1',
        stream: 'live',
        output: 'hls',
        time: 1_790_000_000_000,
        duration: 0,
        bytes: 0,
        ua: 'ffmpeg/5',
        ip: '::1',
      },
    ]);
  });

  it('takes the session from X-Playback-Session-Id over session_id', () => {
    const { events, listen } = setup();
    const served = listen.hlsMaster({
      group: 'live',
      playlist: MASTER,
      sessionHeader: 'APPLE-1',
      query: 'session_id=Q',
    });
    expect(served.session).toBe('APPLE-1');
    expect(served.playlist).toContain('64k.m3u8?session_id=APPLE-1\n');
    expect(events[0]?.session).toBe('APPLE-1');
  });
});

describe('HLS variant playlist', () => {
  it('carries session_id and ua from its own URL into the segment URIs and emits nothing', () => {
    const { events, listen } = setup();
    const served = listen.hlsVariant({
      playlist: VARIANT,
      query: 'session_id=S1&ua=App%2F2',
      ua: 'AppleCoreMedia/1',
    });
    expect(served.playlist).toContain('\nseg-7.ts?session_id=S1&ua=App%2F2\n');
    expect(served.playlist).toContain('\nseg-8.ts?session_id=S1&ua=App%2F2\n');
    expect(events).toEqual([]);
  });

  it('gives a client that opens the variant directly a new session, and its own user agent', () => {
    const { events, listen } = setup();
    const served = listen.hlsVariant({ playlist: VARIANT, ua: 'ffmpeg/5' });
    expect(served).toMatchObject({ session: 'id-1', source: 'new' });
    expect(served.playlist).toContain('seg-7.ts?session_id=id-1&ua=ffmpeg%2F5');
    expect(events).toEqual([]);
  });
});

describe('HLS variant playlist opened directly', () => {
  it('answers with a redirect to its own URL carrying the new session, and the reloads keep it', () => {
    const { events, listen } = setup();
    const first = listen.hlsVariant({ playlist: VARIANT, url: '/hls/64k/live.m3u8?x=1', ua: 'ffmpeg/5' });
    expect(first).toMatchObject({ session: 'id-1', source: 'new' });
    expect(first.redirect).toBe('./live.m3u8?x=1&session_id=id-1&ua=ffmpeg%2F5');
    // The player follows the redirect, then reloads the playlist it ended up at every few seconds.
    const at = new URL(first.redirect as string, 'http://radio.test/hls/64k/live.m3u8?x=1');
    expect(at.pathname).toBe('/hls/64k/live.m3u8');
    const sessions = new Set<string>();
    for (let reload = 0; reload < 5; reload++) {
      const served = listen.hlsVariant({ playlist: VARIANT, url: at.href, query: at.search, ua: 'ffmpeg/5' });
      expect(served.redirect).toBeUndefined();
      expect(served.playlist).toContain('seg-7.ts?session_id=id-1&ua=ffmpeg%2F5');
      sessions.add(served.session);
    }
    expect([...sessions]).toEqual(['id-1']);
    expect(events).toEqual([]);
  });

  it('does not redirect a request that has a session, nor one served without its URL', () => {
    const { listen } = setup();
    const url = '/64k.m3u8';
    expect(listen.hlsVariant({ playlist: VARIANT, url, sessionHeader: 'APPLE-1' }).redirect).toBeUndefined();
    expect(listen.hlsVariant({ playlist: VARIANT, url, query: 'session_id=S' }).redirect).toBeUndefined();
    expect(listen.hlsVariant({ playlist: VARIANT }).redirect).toBeUndefined();
    // An invalid session id is replaced, in the redirect too.
    expect(listen.hlsVariant({ playlist: VARIANT, url: '/a/b.m3u8?session_id=a%09b' }).redirect).toBe(
      './b.m3u8?session_id=id-2',
    );
  });

  it('carries a cleaned user agent', () => {
    const { listen } = setup();
    const served = listen.hlsVariant({ playlist: VARIANT, url: '/v.m3u8', ua: 'VLC\t3' });
    expect(served.redirect).toBe('./v.m3u8?session_id=id-1&ua=VLC%203');
  });
});

describe('HLS segment', () => {
  it('emits one event with the whole duration when the response finishes', () => {
    const { events, listen } = setup();
    const seg = listen.hlsSegment({
      variant: 'live-64k',
      durationS: 6.016,
      totalBytes: 48_128,
      query: 'session_id=S&ua=UA',
    });
    seg.sent(16_000);
    seg.sent(32_128);
    seg.end();
    seg.end();
    expect(events).toEqual([
      {
        id: 'id-1',
        session: 'S',
        stream: 'live-64k',
        output: 'hls',
        time: 1_790_000_000_000,
        duration: 6.016,
        bytes: 48_128,
        ua: 'UA',
      },
    ]);
  });

  it('pro-rates the duration by bytes when the response is cut off', () => {
    const { events, listen } = setup();
    const seg = listen.hlsSegment({ variant: 'live-128k', durationS: 6, query: 'session_id=S' });
    seg.sent(24_000);
    seg.end({ complete: false, totalBytes: 96_000 });
    expect(events[0]).toMatchObject({ session: 'S', stream: 'live-128k', duration: 1.5, bytes: 24_000 });
  });

  it('counts a cut-off without a known size as no audio, and a response with no bytes not at all', () => {
    const { events, listen } = setup();
    const cut = listen.hlsSegment({ variant: 'v', durationS: 6, query: 'session_id=S' });
    cut.sent(1000);
    cut.end({ complete: false });
    const empty = listen.hlsSegment({ variant: 'v', durationS: 6, query: 'session_id=S' });
    empty.end();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ duration: 0, bytes: 1000 });
  });
});

describe('HLS segment with a media sequence number', () => {
  it('credits programme time once per session when a segment is fetched again or from another variant', () => {
    const { events, listen } = setup();
    const fetch = (variant: string, mediaSequence: number, sent: number, session = 'S') => {
      const seg = listen.hlsSegment({
        variant,
        durationS: 6,
        totalBytes: 1000,
        mediaSequence,
        query: `session_id=${session}`,
      });
      seg.sent(sent);
      seg.end();
    };
    fetch('live-64k', 10, 1000);
    fetch('live-32k', 10, 1000); // a probe or a switch: same programme time, other variant
    fetch('live-32k', 11, 400); // aborted at 40 %...
    fetch('live-32k', 11, 1000); // ...and fetched again
    fetch('live-32k', 10, 1000, 'OTHER'); // another session is counted on its own
    expect(events.map((e) => [e.session, e.stream, e.duration, e.bytes])).toEqual([
      ['S', 'live-64k', 6, 1000],
      ['S', 'live-32k', 0, 1000],
      ['S', 'live-32k', 2.4, 400],
      ['S', 'live-32k', 3.6, 1000],
      ['OTHER', 'live-32k', 6, 1000],
    ]);
  });

  it('forgets the oldest pairs beyond maxTrackedSegments', () => {
    const events: ListenEvent[] = [];
    const listen = createListenLogger({
      sink: createCallbackSink((e) => void events.push(e)),
      maxTrackedSegments: 2,
    });
    for (const mediaSequence of [1, 2, 3, 1]) {
      const seg = listen.hlsSegment({ variant: 'v', durationS: 6, mediaSequence, query: 'session_id=S' });
      seg.sent(10);
      seg.end();
    }
    expect(events.map((e) => e.duration)).toEqual([6, 6, 6, 6]);
  });
});
