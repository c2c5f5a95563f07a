import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAudienceOf } from '@earshot/audience';
import {
  buildReport,
  buildTrackReport,
  type ListenEvent,
  parseTrack,
  type Report,
  SOUNDEXCHANGE_COLUMNS,
  soundExchangeRows,
  TRACK_COLUMNS,
  type TrackEvent,
  type TrackReport,
} from '@earshot/core';
import { generateStation, toNdjson } from '@earshot/simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from './testing.js';

const TZ = 'America/New_York';
const START = Date.parse('2026-11-03T06:00:00-05:00');
let dir: string;
let events: ListenEvent[];
let tracks: TrackEvent[];
let eventsPath: string;
let tracksPath: string;

/** Songs every 3.5 minutes on both streams for 2 hours, a talk break each half hour, one correction. */
function schedule(): TrackEvent[] {
  const out: TrackEvent[] = [];
  for (const stream of ['main', 'main-mp3']) {
    for (let k = 0; k < 34; k++) {
      const song = k % 7;
      const raw: Record<string, unknown> = {
        id: `${stream}-${k}`,
        stream,
        time: new Date(START + k * 210_000).toISOString(),
        artist: `Artist ${song % 4}`,
        title: `Title ${song}`,
        kind: k % 9 === 8 ? 'talk' : 'music',
        duration: 200,
      };
      if (song < 3) raw.isrc = `US-RC1-76-0783${song}`;
      if (song === 1) raw.album = 'An Album';
      if (song === 2) raw.label = 'A Label';
      const parsed = parseTrack(raw);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      out.push(parsed.track);
    }
  }
  out.push({ ...out[3]!, title: 'Corrected title' });
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-cli-tracks-'));
  events = generateStation({ seed: 21, start: '2026-11-03T06:00:00-05:00', hours: 2, listeners: 30, tz: TZ });
  tracks = schedule();
  eventsPath = join(dir, 'events.ndjson');
  tracksPath = join(dir, 'tracks.ndjson');
  writeFileSync(eventsPath, toNdjson(events));
  writeFileSync(tracksPath, `${tracks.map((t) => JSON.stringify(t)).join('\n')}\n`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const audience = createAudienceOf({ botAgents: [], relayAgents: [], monitorAgents: [] });

describe('earshot report --tracks', () => {
  it('adds the track figures core computes from the same events to the JSON report', async () => {
    const result = await run([
      'report',
      '--events',
      eventsPath,
      '--tracks',
      tracksPath,
      '--format',
      'json',
      '--tz',
      TZ,
      '--performance-min',
      '5',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as Report & { tracks: Omit<TrackReport, 'config'> };
    const { tracks: figures, ...report } = out;
    expect(report).toEqual(buildReport(events, { tz: TZ, audience }));
    const core = buildTrackReport(events, tracks, { tz: TZ, audience, performanceMinS: 5 });
    expect(core.config).toMatchObject({ from: report.config.from, to: report.config.to });
    expect(figures).toEqual({
      performanceMin: 5,
      kinds: ['music'],
      plays: core.plays,
      songs: core.songs,
      shows: core.shows,
      ath: core.ath,
    });
    expect(core.plays.some((p) => p.performances > 0)).toBe(true);
    expect(core.plays.find((p) => p.id === 'main-3')!.title).toBe('Corrected title');
  });

  it('prints the plays, songs and ATH as CSV and a Tracks section in the table', async () => {
    const args = ['report', '--events', eventsPath, '--tracks', tracksPath, '--tz', TZ];
    const core = buildTrackReport(events, tracks, { tz: TZ, audience });
    for (const part of ['plays', 'songs', 'shows', 'ath'] as const) {
      const csv = await run([...args, '--format', 'csv', '--part', part]);
      expect(csv.code).toBe(0);
      const lines = csv.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(TRACK_COLUMNS[part].join(','));
      expect(lines).toHaveLength(1 + core[part].length);
    }
    const table = await run(args);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Summary by stream');
    expect(table.stdout).toContain('Top songs by performances');
    expect(table.stdout).toContain(`Last plays (local time, ${TZ})`);
    expect(table.stdout).toContain('ATH (aggregate tuning hours)');
  });

  it('fails on a bad track line naming the file and line (exit 1) and on track options without --tracks (exit 2)', async () => {
    const bad = join(dir, 'bad-tracks.ndjson');
    writeFileSync(
      bad,
      `${JSON.stringify(tracks[0])}\n{"id":"x","stream":"main","time":"2026-11-03T12:00:00Z","title":"t","kind":"song"}\n`,
    );
    const result = await run(['report', '--events', eventsPath, '--tracks', bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${bad}:2: kind: must be one of music, talk, ad, other; artist: is required`,
    );
    const skipped = await run(['report', '--events', eventsPath, '--tracks', bad, '--skip-invalid']);
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toContain(`${bad}: skipped 1 invalid line`);
    const part = await run(['report', '--events', eventsPath, '--format', 'csv', '--part', 'songs']);
    expect(part.code).toBe(2);
    expect(part.stderr).toContain('--part songs: needs --tracks');
    const min = await run([
      'report',
      '--events',
      eventsPath,
      '--tracks',
      tracksPath,
      '--performance-min',
      'x',
    ]);
    expect(min.code).toBe(2);
    expect(min.stderr).toContain('--performance-min');
    const missing = await run(['report', '--events', eventsPath, '--tracks', join(dir, 'nope.ndjson')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--tracks: cannot read');
  });
});

describe('earshot soundexchange', () => {
  it('prints the report of use: the template header, one row per recording, core performances', async () => {
    const result = await run([
      'soundexchange',
      '--events',
      eventsPath,
      '--tracks',
      tracksPath,
      '--from',
      '2026-11-03T06:00',
      '--to',
      '2026-11-03T08:00',
      '--tz',
      TZ,
      '--service',
      'WXYZ-FM',
      '--category',
      'b',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]!.split('\t')).toEqual([...SOUNDEXCHANGE_COLUMNS]);
    for (const line of lines) expect(line.split('\t')).toHaveLength(SOUNDEXCHANGE_COLUMNS.length);
    const core = buildTrackReport(events, tracks, {
      tz: TZ,
      audience,
      from: Date.parse('2026-11-03T06:00:00-05:00'),
      to: Date.parse('2026-11-03T08:00:00-05:00'),
    });
    const rows = soundExchangeRows(core.songs, { service: 'WXYZ-FM', category: 'B' });
    expect(lines.slice(1)).toEqual(rows.map((r) => SOUNDEXCHANGE_COLUMNS.map((c) => r[c]).join('\t')));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]!.TRANSMISSION_CATEGORY).toBe('B');
  });

  it("writes the sample station's report of use: every row of the template's columns, ISRC or album and label", async () => {
    const samples = fileURLToPath(new URL('../../../samples/', import.meta.url));
    const result = await run([
      'soundexchange',
      '--events',
      join(samples, 'station.ndjson.gz'),
      '--tracks',
      join(samples, 'station-tracks.ndjson'),
      '--from',
      '2026-11-03T05:00',
      '--to',
      '2026-11-03T10:00',
      '--tz',
      TZ,
      '--service',
      'EARSHOT-SAMPLE',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [header, ...rows] = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split('\t'));
    expect(header).toEqual([...SOUNDEXCHANGE_COLUMNS]);
    expect(rows.length).toBeGreaterThan(20);
    const column = (name: (typeof SOUNDEXCHANGE_COLUMNS)[number]) => SOUNDEXCHANGE_COLUMNS.indexOf(name);
    for (const row of rows) {
      expect(row).toHaveLength(SOUNDEXCHANGE_COLUMNS.length);
      expect(row[column('NAME_OF_SERVICE')]).toBe('EARSHOT-SAMPLE');
      expect(row[column('FEATURED_ARTIST')]).not.toBe('');
      expect(row[column('SOUND_RECORDING_TITLE')]).not.toBe('');
      // 37 CFR 370: the ISRC, or else the album and the marketing label, identify the recording.
      const isrc = row[column('ISRC')]!;
      if (isrc === '') {
        expect(row[column('ALBUM_TITLE')]).not.toBe('');
        expect(row[column('MARKETING_LABEL')]).not.toBe('');
      } else expect(isrc).toMatch(/^[A-Z]{2}[A-Z0-9]{3}\d{7}$/);
      expect(Number(row[column('ACTUAL_TOTAL_PERFORMANCES')])).toBeGreaterThanOrEqual(0);
      expect(Number.isInteger(Number(row[column('ACTUAL_TOTAL_PERFORMANCES')]))).toBe(true);
    }
    expect(rows.some((row) => Number(row[column('ACTUAL_TOTAL_PERFORMANCES')]) > 10)).toBe(true);
  });

  it('exits 2 without --service or --tracks, on a bad category and on --format', async () => {
    const base = ['soundexchange', '--events', eventsPath, '--tracks', tracksPath];
    const cases: [string[], string][] = [
      [base, '--service: required'],
      [['soundexchange', '--events', eventsPath, '--service', 'X'], '--tracks: required'],
      [[...base, '--service', 'X', '--category', 'Z'], '--category: "Z" is not one of'],
      [[...base, '--service', 'X', '--format', 'json'], '--format: does not apply'],
    ];
    for (const [args, message] of cases) {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
    }
    const report = await run(['report', '--events', eventsPath, '--service', 'X']);
    expect(report.code).toBe(2);
    expect(report.stderr).toContain('unknown option --service');
  });
});
