import { describe, expect, it } from 'vitest';
import { parseStreamTitle, parseTrack } from './track.js';

const valid = {
  id: 't1',
  stream: 'main',
  time: '2026-11-03T12:00:00Z',
  artist: ' Nina Simone ',
  title: 'Feeling Good',
  isrc: 'gb-f08-65-00040',
  kind: 'music',
};

describe('parseTrack', () => {
  it('normalizes a track event: time to epoch ms, text trimmed, the ISRC without dashes, upper case', () => {
    expect(parseTrack({ ...valid, album: '', duration: 177.5 })).toEqual({
      ok: true,
      track: {
        id: 't1',
        stream: 'main',
        time: Date.parse('2026-11-03T12:00:00Z'),
        artist: 'Nina Simone',
        title: 'Feeling Good',
        isrc: 'GBF086500040',
        duration: 177.5,
        kind: 'music',
      },
    });
  });

  it('lets talk, ads and other segments go without an artist, never music', () => {
    expect(parseTrack({ ...valid, artist: '', kind: 'talk', isrc: undefined }).ok).toBe(true);
    expect(parseTrack({ ...valid, artist: '' })).toEqual({
      ok: false,
      issues: [{ field: 'artist', reason: 'must be 1..512 characters' }],
    });
  });

  it('names every bad field, unknown ones too', () => {
    const result = parseTrack({
      id: '',
      stream: 'main',
      time: 5,
      title: 'x',
      kind: 'song',
      isrc: 'US123',
      duration: 0,
      extra: 1,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.field).sort()).toEqual([
      'artist',
      'duration',
      'extra',
      'id',
      'isrc',
      'kind',
      'time',
    ]);
    expect(parseTrack([])).toEqual({
      ok: false,
      issues: [{ field: '', reason: 'a track event must be a JSON object' }],
    });
  });
});

describe('parseStreamTitle', () => {
  it("splits ICY's `Artist - Title` at the first separator", () => {
    expect(parseStreamTitle('Nina Simone - Feeling Good')).toEqual({
      artist: 'Nina Simone',
      title: 'Feeling Good',
    });
    expect(parseStreamTitle('AC/DC - Back In Black - Remastered')).toEqual({
      artist: 'AC/DC',
      title: 'Back In Black - Remastered',
    });
    expect(parseStreamTitle('  Morning Show  ')).toEqual({ artist: '', title: 'Morning Show' });
    expect(parseStreamTitle('Jingle -')).toEqual({ artist: '', title: 'Jingle -' });
    expect(parseStreamTitle(' ')).toBeUndefined();
  });
});
