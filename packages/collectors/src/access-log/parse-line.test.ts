import { describe, expect, it } from 'vitest';
import { parseAccessLine, parseCommonLogTime, splitFields } from './parse-line.js';

// Lines as Debian's nginx 1.22 wrote them with nginx/earshot.conf (ffmpeg sends `Range: bytes=0-`).
const SEGMENT =
  '1796279741.915 127.0.0.1 "GET /hls/32k/seg00619.ts?session_id=96399c28 HTTP/1.1" 206 9964 0.000 "OK" "9964" "bytes 0-9963/9964" "-" "96399c28" "Lavf/59.27.100"';
const REDIRECT =
  '1796279737.707 127.0.0.1 "GET /hls/live.m3u8 HTTP/1.1" 302 156 0.000 "OK" "-" "-" "-" "-" "curl/7.88.1"';

describe('parseAccessLine', () => {
  it('reads the earshot log_format', () => {
    expect(parseAccessLine(SEGMENT, 'nginx')).toEqual({
      ok: true,
      record: {
        timeMs: 1796279741915,
        ip: '127.0.0.1',
        method: 'GET',
        target: '/hls/32k/seg00619.ts?session_id=96399c28',
        status: 206,
        bytes: 9964,
        completed: true,
        contentLength: 9964,
        rangeTotal: 9964,
        sessionHeader: undefined,
        ua: 'Lavf/59.27.100',
      },
    });
    const redirect = parseAccessLine(REDIRECT, 'nginx');
    expect(redirect.ok && redirect.record).toMatchObject({
      status: 302,
      contentLength: undefined,
      ua: 'curl/7.88.1',
    });
  });

  it('reads a cut-off response (empty $request_completion) and nginx \\x escapes', () => {
    const line =
      '1796279741.915 10.0.0.2 "GET /a.ts HTTP/1.1" 200 4000 1.2 "" "9964" "-" "AB-12" "-" "VLC \\x22x\\x22 caf\\xC3\\xA9"';
    const parsed = parseAccessLine(line, 'nginx');
    expect(parsed.ok && parsed.record).toMatchObject({
      completed: false,
      bytes: 4000,
      contentLength: 9964,
      sessionHeader: 'AB-12',
      ua: 'VLC "x" café',
    });
  });

  it('reads combined, and Icecast’s access log with the seconds connected', () => {
    const icecast =
      '127.0.0.1 - - [03/Dec/2026:06:15:09 +0100] "GET /live.mp3 HTTP/1.1" 200 160234 "-" "Lavf/59.27.100" 20';
    const parsed = parseAccessLine(icecast, 'combined');
    expect(parsed.ok && parsed.record).toMatchObject({
      timeMs: Date.UTC(2026, 11, 3, 5, 15, 9),
      target: '/live.mp3',
      bytes: 160234,
      ua: 'Lavf/59.27.100',
      connectedS: 20,
    });
    const nginx =
      '203.0.113.5 - - [03/Dec/2026:06:15:09 +0000] "GET /x HTTP/1.1" 200 12 "http://r/" "UA \\"q\\""';
    const plain = parseAccessLine(nginx, 'combined');
    expect(plain.ok && plain.record).toMatchObject({ ua: 'UA "q"', status: 200 });
    expect(plain.ok && plain.record.connectedS).toBeUndefined();
  });

  it('reads the earshot_json log_format', () => {
    const line = JSON.stringify({
      time: 1796279741.915,
      ip: '127.0.0.1',
      method: 'GET',
      uri: '/hls/live.m3u8?session_id=s1',
      status: 200,
      bytes: 260,
      completion: 'OK',
      content_length: '',
      content_range: '',
      session_header: '',
      session_id: 's1',
      ua: 'libmpv',
    });
    const parsed = parseAccessLine(line, 'json');
    expect(parsed.ok && parsed.record).toMatchObject({
      timeMs: 1796279741915,
      target: '/hls/live.m3u8?session_id=s1',
      status: 200,
      completed: true,
      contentLength: undefined,
      sessionHeader: undefined,
      ua: 'libmpv',
    });
  });

  it('says why a line is not of the format', () => {
    expect(parseAccessLine('garbage', 'nginx')).toMatchObject({ ok: false });
    expect(parseAccessLine('1 2 "unterminated', 'nginx')).toEqual({
      ok: false,
      reason: 'unbalanced quotes or brackets',
    });
    expect(parseAccessLine('{"time":1}', 'json')).toEqual({ ok: false, reason: 'no uri' });
    expect(parseAccessLine(REDIRECT, 'combined')).toMatchObject({ ok: false });
  });
});

describe('splitFields and parseCommonLogTime', () => {
  it('splits quoted and bracketed fields', () => {
    expect(splitFields('a "b c" [d e] "" f')).toEqual(['a', 'b c', 'd e', '', 'f']);
  });
  it('reads the offset', () => {
    expect(parseCommonLogTime('03/Dec/2026:06:15:09 -0500')).toBe(Date.UTC(2026, 11, 3, 11, 15, 9));
    expect(parseCommonLogTime('03/Foo/2026:06:15:09 +0000')).toBeUndefined();
  });
});
