import { describe, expect, it } from 'vitest';
import { isMasterPlaylist, rewritePlaylistUris, withQueryParams } from './playlist.js';

const MASTER = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
## a comment the packager left
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="Radio Earshot",URI="data.json"
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="https://keys.example.com/session"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="Main",DEFAULT=NO,AUTOSELECT=NO

#EXT-X-STREAM-INF:BANDWIDTH=70000,AVERAGE-BANDWIDTH=66000,CODECS="mp4a.40.2"
64k/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS="mp4a.40.2",AUDIO="aac"
https://cdn.example.com/live/128k/index.m3u8?token=a%20b&session_id=stale#frag
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1000,URI="iframe.m3u8"
#X-VENDOR-TAG:whatever="kept"
`;

const MEDIA = [
  '#EXTM3U',
  '#EXT-X-VERSION:6',
  '#EXT-X-TARGETDURATION:6',
  '#EXT-X-MEDIA-SEQUENCE:1234',
  '#EXT-X-DISCONTINUITY-SEQUENCE:2',
  '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/k1?x=1",IV=0x0123456789ABCDEF0123456789ABCDEF',
  '#EXT-X-MAP:URI="init.mp4"',
  '#EXT-X-PROGRAM-DATE-TIME:2026-11-28T10:00:00.000+00:00',
  '#EXTINF:6.000,Artist - Title',
  'seg-1234.ts',
  '#EXT-X-BYTERANGE:75232@0',
  '#EXTINF:5.994,',
  'seg-1235.ts',
  '#EXT-X-DISCONTINUITY',
  '#EXT-X-PROGRAM-DATE-TIME:2026-11-28T10:00:12.000Z',
  '#EXT-X-CUE-OUT:DURATION=30',
  '#EXTINF:6,',
  '/abs/seg-1236.aac?token=abc',
  '#X-CUSTOM-TAG:foo=bar',
  '# a plain comment',
  '',
  '#EXTINF:6.006,',
  'https://cdn.example.com/seg-1237.ts',
  '#EXT-X-ENDLIST',
  '',
].join('\r\n');

const PARAMS = { session_id: 'sess-1', ua: 'Mozilla/5.0 (X11; Linux) Earshot/1' };
const CARRIED = 'session_id=sess-1&ua=Mozilla%2F5.0%20(X11%3B%20Linux)%20Earshot%2F1';

/** The lines of `after` that differ from `before`, as [before, after] pairs; both must have as many lines. */
function changedLines(before: string, after: string): [string, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i] as string] as [string, string]]));
}

describe('rewritePlaylistUris', () => {
  it('rewrites every variant and rendition URI of a master playlist and keeps every other line byte for byte', () => {
    const out = rewritePlaylistUris(MASTER, PARAMS);
    expect(changedLines(MASTER, out)).toEqual([
      [
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en/index.m3u8"',
        `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en/index.m3u8?${CARRIED}"`,
      ],
      ['64k/index.m3u8', `64k/index.m3u8?${CARRIED}`],
      [
        'https://cdn.example.com/live/128k/index.m3u8?token=a%20b&session_id=stale#frag',
        `https://cdn.example.com/live/128k/index.m3u8?token=a%20b&${CARRIED}#frag`,
      ],
      [
        '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1000,URI="iframe.m3u8"',
        `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1000,URI="iframe.m3u8?${CARRIED}"`,
      ],
    ]);
  });

  it('rewrites only the segment URIs of a media playlist, keeping KEY, MAP, BYTERANGE, dates, comments and CRLF', () => {
    const out = rewritePlaylistUris(MEDIA, PARAMS);
    expect(changedLines(MEDIA, out)).toEqual([
      ['seg-1234.ts\r', `seg-1234.ts?${CARRIED}\r`],
      ['seg-1235.ts\r', `seg-1235.ts?${CARRIED}\r`],
      ['/abs/seg-1236.aac?token=abc\r', `/abs/seg-1236.aac?token=abc&${CARRIED}\r`],
      ['https://cdn.example.com/seg-1237.ts\r', `https://cdn.example.com/seg-1237.ts?${CARRIED}\r`],
    ]);
    expect(out.endsWith('#EXT-X-ENDLIST\r\n')).toBe(true);
  });

  it('is idempotent: rewriting a rewritten playlist with the same values changes nothing', () => {
    const once = rewritePlaylistUris(MEDIA, PARAMS);
    expect(rewritePlaylistUris(once, PARAMS)).toBe(once);
  });

  it('leaves out parameters without a value', () => {
    expect(rewritePlaylistUris('#EXTM3U\n#EXTINF:6,\na.ts\n', { session_id: 's', ua: undefined })).toBe(
      '#EXTM3U\n#EXTINF:6,\na.ts?session_id=s\n',
    );
  });
});

describe('withQueryParams', () => {
  it('keeps the path, other parameters and fragment, and replaces parameters of the same name', () => {
    expect(withQueryParams('a/b.ts', { session_id: 'x' })).toBe('a/b.ts?session_id=x');
    expect(withQueryParams('a.ts?', { session_id: 'x' })).toBe('a.ts?session_id=x');
    expect(withQueryParams('a.ts?k=1&&session%5Fid=old&z=%2F', { session_id: 'x' })).toBe(
      'a.ts?k=1&z=%2F&session_id=x',
    );
    expect(withQueryParams('../a.ts#t=1', { ua: 'A B' })).toBe('../a.ts?ua=A%20B#t=1');
    expect(withQueryParams('a.ts', {})).toBe('a.ts');
  });
});

describe('isMasterPlaylist', () => {
  it('tells master from media playlists', () => {
    expect(isMasterPlaylist(MASTER)).toBe(true);
    expect(isMasterPlaylist(MEDIA)).toBe(false);
  });
});
