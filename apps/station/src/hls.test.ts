import { describe, expect, it } from 'vitest';
import type { Variant } from './audio.js';
import { liveWindow, masterPlaylist, variantPlaylist } from './hls.js';

const variant: Variant = {
  key: 'live-64k',
  name: '64k',
  peakBps: 72_000,
  averageBps: 71_000,
  segments: [6.016, 5.995, 5.995].map((durationS) => ({ bytes: new Uint8Array(10), durationS })),
};

// 2026-11-28T10:00:00Z is segment 299_310_000 of the epoch-aligned 6 s grid.
const T = Date.parse('2026-11-28T10:00:00.000Z');

describe('liveWindow', () => {
  it('lists the last five complete segments and advances one segment every 6 s', () => {
    expect(liveWindow(T)).toEqual({ first: 299_309_995, last: 299_309_999 });
    expect(liveWindow(T + 5999)).toEqual({ first: 299_309_995, last: 299_309_999 });
    expect(liveWindow(T + 6000)).toEqual({ first: 299_309_996, last: 299_310_000 });
  });
});

describe('variantPlaylist', () => {
  it('is a live window: five segments, media sequence from wall time, no ENDLIST', () => {
    const text = variantPlaylist(variant, T + 1000);
    expect(text.split('\n')).toEqual([
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:6',
      '#EXT-X-MEDIA-SEQUENCE:299309995',
      '#EXT-X-DISCONTINUITY-SEQUENCE:99769998',
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-28T09:59:30.000Z',
      '#EXTINF:5.995,',
      'seg-299309995.ts',
      '#EXTINF:5.995,',
      'seg-299309996.ts',
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-28T09:59:42.000Z',
      '#EXTINF:6.016,',
      'seg-299309997.ts',
      '#EXTINF:5.995,',
      'seg-299309998.ts',
      '#EXTINF:5.995,',
      'seg-299309999.ts',
      '',
    ]);
  });

  it('slides: 6 s later the oldest segment is gone and a new one is at the end', () => {
    const before = segmentUris(variantPlaylist(variant, T));
    const after = segmentUris(variantPlaylist(variant, T + 6000));
    expect(after.slice(0, 4)).toEqual(before.slice(1));
    expect(after[4]).toBe('seg-299310000.ts');
  });

  it('counts the discontinuities that slid out of the window', () => {
    // Segment 299_309_997 starts a loop; once it is the first segment, its discontinuity is counted.
    const text = variantPlaylist(variant, T + 12_000);
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:299309997\n#EXT-X-DISCONTINUITY-SEQUENCE:99769999\n');
    expect(text.split('#EXT-X-DISCONTINUITY\n')).toHaveLength(2);
  });
});

describe('masterPlaylist', () => {
  it('lists each variant with its bandwidth and codec', () => {
    expect(masterPlaylist([variant])).toBe(
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=72000,AVERAGE-BANDWIDTH=71000,CODECS="mp4a.40.2"\n64k/live.m3u8\n',
    );
  });
});

function segmentUris(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('seg-'));
}
