import { createAudienceOf, createEnricher, NO_AGENT_RULES, openGeoDatabase } from '@earshot/audience';
import {
  buildReport as coreBuildReport,
  DEFAULT_DAYPARTS,
  type ListenEvent,
  parseReportTime,
  resolveDaypart,
} from '@earshot/core';
import { generateStation } from '@earshot/simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  breakdownsFromDb,
  type Db,
  type DbReportOptions,
  daypartReportsFromDb,
  rebuildAudienceRollups,
  rebuildQuarterHourRollup,
  reportFromDb,
  sessionLengthHistogram,
} from '../index.js';
import { type Driver, loadAndFinalize, openTestDb } from '../testing/index.js';

// A small station across the end of US daylight time (2026-11-01 02:00 EDT -> 01:00 EST), so that
// local days of 100 quarter-hours and dayparts in a zone other than UTC are exercised.
const TZ = 'America/New_York';
const T0 = Date.parse('2026-10-31T20:00:00Z');
// What ingest does with each event's ip (a country from the shipped database, relays by range),
// done here once for both sides: the listeners on 8.8.0.0/16 are the station's relays.
const enrich = createEnricher({ geo: openGeoDatabase(), ranges: { relay: ['8.8.0.0/16'], monitor: [] } });
const enriched = (list: ListenEvent[]) =>
  list.map((e) => {
    const copy = { ...e };
    enrich(copy);
    delete copy.ip;
    return copy;
  });
// The worker's classification (isbot's list, no station patterns), given to the offline report too.
const audience = createAudienceOf(NO_AGENT_RULES);
const buildReport: typeof coreBuildReport = (list, options = {}) =>
  coreBuildReport(list, { audience, ...options });

const events: ListenEvent[] = [
  ...enriched(
    generateStation({
      seed: 'reports-db',
      start: '2026-10-31T18:00:00Z',
      hours: 20,
      listeners: 12,
      tz: TZ,
      userAgents: true,
      botShare: 0.15,
      ips: true,
    }),
  ),
  // One session with a whole quarter-hour without audio inside it: HLS playlist requests (no audio)
  // every 4 minutes keep it open from 20:01 to 20:35, audio only at its two ends.
  {
    session: 'gap',
    stream: 'main',
    output: 'hls',
    time: T0 + 60_000,
    duration: 60,
    bytes: 1000,
    listener: 'gap-listener',
  },
  ...Array.from(
    { length: 8 },
    (_, i): ListenEvent => ({
      session: 'gap',
      stream: 'main',
      output: 'hls',
      time: T0 + (4 + 4 * i) * 60_000,
      duration: 0,
      bytes: 0,
    }),
  ),
  { session: 'gap', stream: 'main', output: 'hls', time: T0 + 35 * 60_000, duration: 90, bytes: 1000 },
  // One session that starts in the night (00:04:50 EDT, in the gap of Mon-Sun 6a-12m) yet listened
  // before it: its second event reports 10 minutes back to 23:55. It listens on past 06:00 EST, so
  // the daypart's next day starts a run of it that has an earlier row in the period.
  {
    session: 'early',
    stream: 'main',
    output: 'shoutcast',
    time: T0 + 8 * 3_600_000 + 300_000,
    duration: 10,
    bytes: 1,
  },
  {
    session: 'early',
    stream: 'main',
    output: 'shoutcast',
    time: T0 + 8 * 3_600_000 + 301_000,
    duration: 600,
    bytes: 9_600_000,
    listener: 'early-riser',
  },
  ...Array.from(
    { length: 870 },
    (_, i): ListenEvent => ({
      session: 'early',
      stream: 'main',
      output: 'shoutcast',
      time: T0 + 8 * 3_600_000 + 330_000 + i * 30_000,
      duration: 30,
      bytes: 480_000,
      listener: 'early-riser',
    }),
  ),
  // One 18-hour session through the night: with a daypart it leaves the period and comes back.
  ...Array.from(
    { length: 2160 },
    (_, i): ListenEvent => ({
      session: 'long',
      stream: 'main-mp3',
      output: 'shoutcast',
      time: T0 + (i + 1) * 30_000,
      duration: 30,
      bytes: 480_000,
      listener: 'night-owl',
    }),
  ),
];

const at = (text: string) => {
  const parsed = parseReportTime(text, TZ);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.ms;
};
const daypart = (name: string) => {
  const r = resolveDaypart(name);
  if (!r.ok) throw new Error(r.reason);
  return r.daypart;
};

const CASES: DbReportOptions[] = [
  { from: at('2026-10-31T12:00'), to: at('2026-11-01T12:00'), tz: TZ, daypart: DEFAULT_DAYPARTS[0]! },
  { from: at('2026-10-31T20:00'), to: at('2026-11-01T12:00'), tz: TZ },
  { from: at('2026-10-31T20:00'), to: at('2026-11-01T12:00'), tz: TZ, daypart: DEFAULT_DAYPARTS[5]! },
  { from: at('2026-11-01'), to: at('2026-11-02'), tz: TZ, daypart: daypart('Sun 00:00-04:00') },
  {
    from: at('2026-10-31T21:07'),
    to: at('2026-11-01T09:52'),
    tz: 'Europe/Berlin',
    daypart: daypart('Sat,Sun 05:03-23:41'),
  },
  { tz: TZ, streams: ['main'], aqhQualifierS: 180 },
  { from: at('2026-10-31T20:00'), streams: ['main-mp3', 'nope'] },
  { to: at('2026-11-01T03:00'), tz: 'UTC', aqhQualifierS: 60.5 },
  // Gross, breakdowns and a shorter threshold for streams left running.
  { from: at('2026-10-31T20:00'), to: at('2026-11-01T12:00'), tz: TZ, basis: 'gross' },
  { tz: TZ, by: 'country', daypart: DEFAULT_DAYPARTS[0]! },
  { tz: TZ, by: 'device', basis: 'gross', leftRunningS: 3600 },
  { from: at('2026-10-31T20:00'), by: 'player', streams: ['main-mp3'] },
  { by: 'output', leftRunningS: 7200 },
  { by: 'class', basis: 'gross', aqhQualifierS: 180 },
  { by: 'os', basis: 'gross', daypart: DEFAULT_DAYPARTS[5]!, tz: TZ },
];

describe.each<Driver>(['postgres', 'pglite'])('reportFromDb on %s', (driver) => {
  let db: Db;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ db, dispose } = await openTestDb(driver));
    await loadAndFinalize(db, events);
  }, 180_000);

  afterAll(async () => {
    await dispose?.();
  });

  it('equals the offline report with no options (period = whole quarter-hours around the data)', async () => {
    const offline = buildReport(events);
    expect(offline.sessions.length).toBeGreaterThan(20);
    expect(await reportFromDb(db)).toEqual(offline);
  });

  it('leaves the bots and relays out of net figures, counts them gross, and says so', async () => {
    const options = { from: at('2026-10-31T20:00'), to: at('2026-11-01T12:00'), tz: TZ };
    const net = await reportFromDb(db, options);
    const gross = await reportFromDb(db, { ...options, basis: 'gross' });
    expect([net.config.basis, gross.config.basis]).toEqual(['net', 'gross']);
    const sum = (r: typeof net, f: (s: (typeof net.summary)[number]) => number) =>
      r.summary.reduce((n, s) => n + f(s), 0);
    const excluded = sum(net, (s) => s.excludedBot + s.excludedRelay + s.excludedMonitor);
    expect(sum(net, (s) => s.excludedBot)).toBeGreaterThan(0);
    expect(sum(net, (s) => s.excludedRelay)).toBeGreaterThan(0);
    // Gross counts exactly the excluded sessions more.
    expect(sum(gross, (s) => s.activeSessions) - sum(net, (s) => s.activeSessions)).toBe(excluded);
    expect(sum(gross, (s) => s.tlh)).toBeGreaterThan(sum(net, (s) => s.tlh));
    expect(net.sessions.every((s) => s.class === 'human')).toBe(true);
    expect(new Set(gross.sessions.map((s) => s.class))).toEqual(new Set(['human', 'bot', 'relay']));
    const byCountry = await reportFromDb(db, { ...options, by: 'country', parts: ['breakdown'] });
    expect(byCountry.breakdown.map((g) => g.group)).toEqual(expect.arrayContaining(['AU', 'BR', 'CA']));
    expect(byCountry.breakdown.reduce((n, g) => n + g.activeSessions, 0)).toBe(
      sum(net, (s) => s.activeSessions),
    );
  });

  it('equals the offline report for a period, zone, daypart and streams', async () => {
    for (const options of CASES) {
      expect(await reportFromDb(db, options), JSON.stringify(options)).toEqual(buildReport(events, options));
    }
  });

  it('reports a group of streams as one (a station) as core does with the keys renamed', async () => {
    const options = {
      from: at('2026-10-31T20:00'),
      to: at('2026-11-01T12:00'),
      tz: TZ,
      daypart: daypart('Sat-Sun 06:00-24:00'),
    };
    const renamed = events.map((e) =>
      e.stream === 'main' || e.stream === 'main-mp3' ? { ...e, stream: 'station' } : e,
    );
    const offline = buildReport(renamed, { ...options, streams: ['station'] });
    const db_ = await reportFromDb(db, { ...options, streams: ['main', 'main-mp3'], groupAs: 'station' });
    expect(db_).toEqual(offline);
    expect(db_.summary).toHaveLength(1);
  });

  it('returns an empty report for a period without data, like core', async () => {
    const options = { from: at('2025-01-01'), to: at('2025-01-02'), tz: TZ };
    expect(await reportFromDb(db, options)).toEqual(buildReport(events, options));
    expect(await reportFromDb(db, { streams: ['nope'] })).toEqual(buildReport(events, { streams: ['nope'] }));
  });

  it('gives the same figures from the rollups (cume from runs or from listener months) as from the session rows', async () => {
    const station: DbReportOptions = { streams: ['main', 'main-mp3'], groupAs: 'station' };
    const renamed = events.map((e) =>
      e.stream === 'main' || e.stream === 'main-mp3' ? { ...e, stream: 'station' } : e,
    );
    for (const options of [{}, ...CASES]) {
      const offline = buildReport(events, options);
      const label = JSON.stringify(options);
      expect(await reportFromDb(db, { ...options, cume: 'runs' }), label).toEqual(offline);
      expect(await reportFromDb(db, { ...options, cume: 'months' }), label).toEqual(offline);
      expect(await reportFromDb(db, { ...options, rollup: false }), label).toEqual(offline);
      const grouped = { ...options, ...station };
      const offlineGrouped = buildReport(renamed, { ...options, streams: ['station'] });
      expect(await reportFromDb(db, { ...grouped, cume: 'runs' }), label).toEqual(offlineGrouped);
      expect(await reportFromDb(db, { ...grouped, cume: 'months' }), label).toEqual(offlineGrouped);
    }
  });

  it('breaks the figures down by every dimension at once from the audience rollups as core does one by one', {
    timeout: 300_000,
  }, async () => {
    const dims = ['country', 'device', 'os', 'player', 'output'] as const;
    for (const options of [{}, ...CASES]) {
      const { by: _by, ...rest } = options;
      const all = await breakdownsFromDb(db, rest, [...dims, 'class']);
      for (const by of [...dims, 'class'] as const) {
        const label = `${JSON.stringify(rest)} by ${by}`;
        const offline = buildReport(events, { ...rest, by }).breakdown;
        expect(all.get(by), label).toEqual(offline);
        expect(
          (await reportFromDb(db, { ...rest, by, parts: ['breakdown'], cume: 'runs' })).breakdown,
          label,
        ).toEqual(offline);
        expect(
          (await reportFromDb(db, { ...rest, by, parts: ['breakdown'], cume: 'months' })).breakdown,
          label,
        ).toEqual(offline);
      }
    }
  });

  it('gives every daypart of a period at once the summary it has alone', async () => {
    const station: DbReportOptions = { streams: ['main', 'main-mp3'], groupAs: 'station' };
    for (const options of [
      {},
      station,
      { ...CASES[0]!, ...station },
      ...CASES.slice(0, 9),
    ] as DbReportOptions[]) {
      const { daypart: _d, by: _by, ...rest } = options;
      const dayparts = [null, ...DEFAULT_DAYPARTS];
      for (const cume of ['months', 'runs', 'auto'] as const) {
        const together = await daypartReportsFromDb(db, { ...rest, cume }, dayparts);
        for (const [i, daypart] of dayparts.entries()) {
          const label = `${JSON.stringify(rest)} ${daypart?.name ?? 'all hours'} ${cume}`;
          const alone = await reportFromDb(db, { ...rest, daypart, cume, parts: ['summary'] });
          expect(together[i], label).toEqual(alone);
          if (!('groupAs' in rest))
            expect(together[i]!.summary, label).toEqual(buildReport(events, { ...rest, daypart }).summary);
        }
      }
    }
  });

  // Last: they rewrite the rollups.
  it('holds the audience rollups a rebuild from the session rows gives', async () => {
    const read = () =>
      Promise.all([
        db.query(
          `select stream, quarter_hour::text, country, device, os, player, output, ms::text, sessions, continuing, starts,
            qualified::text from stream_audience_quarter_hours order by 1, 2, 3, 4, 5, 6, 7`,
        ),
        db.query(
          `select stream, month::text, key_id, country, device, os, player, output, qhs::text
            from stream_audience_months order by 1, 2, 3, 4, 5, 6, 7, 8`,
        ),
      ]);
    const maintained = await read();
    expect(maintained[0].length).toBeGreaterThan(100);
    expect(new Set(maintained[0].map((r) => r.country)).size).toBeGreaterThan(2);
    await rebuildAudienceRollups(db);
    expect(await read()).toEqual(maintained);
  });

  it('counts the session-length histogram from the rollup as from the session rows', async () => {
    const selections = [
      ...CASES.filter((c) => c.from !== undefined && c.to !== undefined && c.basis !== 'gross'),
      { from: T0 - 86_400_000, to: T0 + 2 * 86_400_000, streams: ['main'] },
    ] as (DbReportOptions & { from: number; to: number })[];
    let sessions = 0;
    let short = 0;
    for (const sel of selections) {
      const rolled = await sessionLengthHistogram(db, sel);
      expect(rolled, JSON.stringify(sel)).toEqual(await sessionLengthHistogram(db, sel, { rollup: false }));
      sessions += rolled.reduce((n, b) => n + b.sessions, 0);
      short += rolled[0]!.short;
    }
    expect(sessions).toBeGreaterThan(20);
    expect(short).toBeGreaterThan(0);
  });

  it('holds the quarter-hour rollup a rebuild from the session rows gives', async () => {
    const read = () =>
      db.query(
        `select stream, quarter_hour::text, ms::text, sessions, continuing, starts, qualified::text, lengths::text,
            short_starts
          from stream_quarter_hours order by 1, 2`,
      );
    const maintained = await read();
    expect(maintained.length).toBeGreaterThan(100);
    await rebuildQuarterHourRollup(db);
    expect(await read()).toEqual(maintained);
  });
});
