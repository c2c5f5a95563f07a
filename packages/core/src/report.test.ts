import { describe, expect, it } from 'vitest';
import type { AudienceOf } from './audience.js';
import { resolveDaypart } from './daypart.js';
import type { ListenEvent } from './event.js';
import { buildReport } from './report.js';

const at = (h: number, m: number, s = 0) => Date.UTC(2026, 10, 2, h, m, s); // Monday 2026-11-02

/** A Shoutcast listener ticking every 30 s from `from` to `to` (each tick ends a 30 s delivery). */
function shoutcast(
  session: string,
  from: number,
  to: number,
  extra: Partial<ListenEvent> = {},
): ListenEvent[] {
  const events: ListenEvent[] = [];
  for (let t = from + 30_000; t <= to; t += 30_000) {
    events.push({
      id: `${session}-${t}`,
      session,
      stream: 'main-mp3',
      output: 'shoutcast',
      time: t,
      duration: 30,
      bytes: 240_000,
      ...extra,
    });
  }
  return events;
}

describe('buildReport', () => {
  it('gives no quarter-hour to a listener from 07:11 to 07:19 at a 300 s qualifier', () => {
    const report = buildReport(shoutcast('a', at(7, 11), at(7, 19)), { from: at(7, 0), to: at(8, 0) });
    expect(report.quarterHours).toEqual([
      { stream: 'main-mp3', start: '2026-11-02T07:00:00.000Z', qualified: 0, seconds: 240 },
      { stream: 'main-mp3', start: '2026-11-02T07:15:00.000Z', qualified: 0, seconds: 240 },
    ]);
    expect(report.summary[0]).toMatchObject({
      aqh: 0,
      tlh: 480 / 3600,
      activeSessions: 1,
      sessionStarts: 1,
      cume: 1,
    });
    // The same listener qualifies in both at a 180 s qualifier (Nielsen PPM 2025).
    const ppm = buildReport(shoutcast('a', at(7, 11), at(7, 19)), {
      from: at(7, 0),
      to: at(8, 0),
      aqhQualifierS: 180,
    });
    expect(ppm.summary[0]!.aqh).toBe(2 / 4);
  });

  it('computes AQH, TLH, AAS, cume, ATSL, TSL and Nielsen TSL for a hand-worked hour', () => {
    const events = [
      ...shoutcast('A', at(7, 0), at(7, 30), { listener: 'L1' }),
      ...shoutcast('B', at(7, 10), at(7, 20), { listener: 'L2' }),
    ];
    const report = buildReport(events, { from: at(7, 0), to: at(8, 0) });
    expect(report.config).toEqual({
      from: '2026-11-02T07:00:00.000Z',
      to: '2026-11-02T08:00:00.000Z',
      tz: 'UTC',
      daypart: null,
      idle: 300,
      minSession: 60,
      aqhQualifier: 300,
      maxSession: 86400,
      basis: 'net',
      leftRunning: 28800,
      by: null,
    });
    expect(report.quarterHours.map((q) => [q.start.slice(11, 16), q.qualified, q.seconds])).toEqual([
      ['07:00', 2, 1200],
      ['07:15', 2, 1200],
    ]);
    expect(report.summary).toEqual([
      {
        stream: 'main-mp3',
        quarterHours: 4,
        aqh: 1,
        aas: 2400 / 3600,
        tlh: 2400 / 3600,
        cume: 2,
        activeSessions: 2,
        sessionStarts: 2,
        atsl: 1200,
        tsl: 2400 / 3600 / 2,
        tslNielsen: 0.5,
        excludedBot: 0,
        excludedRelay: 0,
        excludedMonitor: 0,
        leftRunning: 0,
      },
    ]);
    expect(report.sessions.map((s) => [s.session, s.start, s.duration, s.elapsed])).toEqual([
      // Starts are the first ticks' interval starts: elapsed = the wall time played.
      ['A', '2026-11-02T07:00:00.000Z', 1800, 1800],
      ['B', '2026-11-02T07:10:00.000Z', 600, 600],
    ]);
    const minute = report.minutes.find((m) => m.minute === '2026-11-02T07:15:00.000Z');
    expect(minute).toEqual({
      stream: 'main-mp3',
      minute: '2026-11-02T07:15:00.000Z',
      listeners: 2,
      sessions: 2,
    });
    expect(report.minutes).toHaveLength(30);
  });

  it('leaves short sessions out of every figure', () => {
    const report = buildReport(
      [...shoutcast('A', at(7, 0), at(7, 30)), ...shoutcast('short', at(7, 0), at(7, 0, 30))],
      {
        from: at(7, 0),
        to: at(8, 0),
      },
    );
    expect(report.sessions.map((s) => s.session)).toEqual(['A']);
    expect(report.summary[0]!.activeSessions).toBe(1);
    expect(report.minutes[0]!.listeners).toBe(1);
  });

  it('applies a daypart by local start time in the report zone', () => {
    // 2026-11-02 is a Monday; 10:00-11:00 in New York (EST, UTC-5) is 15:00-16:00 UTC.
    const events = [...shoutcast('A', at(14, 30), at(15, 30)), ...shoutcast('B', at(15, 0), at(16, 30))];
    const daypart = resolveDaypart('Midday');
    if (!daypart.ok) throw new Error(daypart.reason);
    const report = buildReport(events, {
      from: at(14, 0),
      to: at(17, 0),
      tz: 'America/New_York',
      daypart: daypart.daypart,
    });
    expect(report.config.daypart).toBe('Mon-Fri 10:00-15:00');
    // QHs of the period in the daypart: 09:00-11:59 local minus 09:xx -> 10:00..11:45 = 8.
    expect(report.summary[0]!.quarterHours).toBe(8);
    expect(report.quarterHours.map((q) => q.start.slice(11, 16))).toEqual([
      '15:00',
      '15:15',
      '15:30',
      '15:45',
      '16:00',
      '16:15',
    ]);
    expect(report.minutes[0]!.minute).toBe('2026-11-02T15:00:00.000Z');
    // A's listening before 15:00 UTC (09:xx local) is outside; both sessions are active inside.
    expect(report.summary[0]!.tlh).toBe((1800 + 5400) / 3600);
    expect(report.summary[0]!.sessionStarts).toBe(1);
  });

  it('defaults the period to whole quarter-hours around the data', () => {
    const report = buildReport(shoutcast('A', at(7, 5), at(7, 20)));
    expect([report.config.from, report.config.to]).toEqual([
      '2026-11-02T07:00:00.000Z',
      '2026-11-02T07:30:00.000Z',
    ]);
    expect(report.summary[0]!.quarterHours).toBe(2);
  });

  it('never puts a missing bound on the wrong side of the given one', () => {
    const events = shoutcast('A', at(7, 5), at(7, 20));
    const late = buildReport(events, { from: at(9, 0) });
    expect([late.config.from, late.config.to]).toEqual([
      '2026-11-02T09:00:00.000Z',
      '2026-11-02T09:00:00.000Z',
    ]);
    expect(late.summary).toEqual([]);
    const early = buildReport(events, { to: at(6, 0) });
    expect([early.config.from, early.config.to]).toEqual([
      '2026-11-02T06:00:00.000Z',
      '2026-11-02T06:00:00.000Z',
    ]);
    const inside = buildReport(events, { from: at(7, 15) });
    expect([inside.config.from, inside.config.to]).toEqual([
      '2026-11-02T07:15:00.000Z',
      '2026-11-02T07:30:00.000Z',
    ]);
  });

  it('filters by stream', () => {
    const events = [
      ...shoutcast('A', at(7, 0), at(7, 30)),
      ...shoutcast('B', at(7, 0), at(7, 30), { stream: 'other' }),
    ];
    const report = buildReport(events, { streams: ['other'] });
    expect(report.summary.map((s) => s.stream)).toEqual(['other']);
    expect(report.sessions.map((s) => s.session)).toEqual(['B']);
  });
});

describe('net and gross, breakdowns', () => {
  // A stand-in for @earshot/audience's rules: enough to tell the classes apart.
  const audience: AudienceOf = ({ ua, origin }) => ({
    class: origin ?? (ua?.includes('bot') ? 'bot' : 'human'),
    device: ua?.startsWith('Mobile') ? 'mobile' : 'desktop',
    os: 'unknown',
    player: ua?.split('/')[0] ?? 'unknown',
  });
  const events = [
    ...shoutcast('human-us', at(7, 0), at(7, 30), { listener: 'L1', ua: 'Mobile/1', country: 'US' }),
    ...shoutcast('human-de', at(7, 0), at(7, 15), { listener: 'L2', ua: 'VLC/3', country: 'DE' }),
    ...shoutcast('bot', at(7, 0), at(7, 30), { ua: 'Googlebot/2.1', country: 'US' }),
    ...shoutcast('relay', at(7, 0), at(7, 30), { ua: 'VLC/3', origin: 'relay' }),
  ];
  const period = { from: at(7, 0), to: at(8, 0), audience };

  it('counts humans only by default (net) and every session when gross; both count the excluded by reason', () => {
    const net = buildReport(events, period);
    const gross = buildReport(events, { ...period, basis: 'gross' });
    expect(net.config.basis).toBe('net');
    expect(gross.config.basis).toBe('gross');
    expect(net.summary[0]).toMatchObject({
      tlh: 2700 / 3600,
      cume: 2,
      activeSessions: 2,
      excludedBot: 1,
      excludedRelay: 1,
      excludedMonitor: 0,
    });
    expect(gross.summary[0]).toMatchObject({
      tlh: (2700 + 3600) / 3600,
      cume: 4,
      activeSessions: 4,
      excludedBot: 1,
      excludedRelay: 1,
    });
    expect(net.sessions.map((s) => [s.session, s.class])).toEqual([
      ['human-de', 'human'],
      ['human-us', 'human'],
    ]);
    expect(gross.sessions.map((s) => s.class).sort()).toEqual(['bot', 'human', 'human', 'relay']);
    // The minute series is net too: two listeners at 07:10, four gross.
    expect(net.minutes.find((m) => m.minute === '2026-11-02T07:10:00.000Z')?.sessions).toBe(2);
    expect(gross.minutes.find((m) => m.minute === '2026-11-02T07:10:00.000Z')?.sessions).toBe(4);
  });

  it('breaks the summary down by country, device, player, output and class', () => {
    const byCountry = buildReport(events, { ...period, by: 'country' });
    expect(byCountry.config.by).toBe('country');
    expect(byCountry.breakdown.map((g) => [g.group, g.activeSessions, g.tlh, g.cume, g.excludedBot])).toEqual(
      [
        ['DE', 1, 900 / 3600, 1, 0],
        ['US', 1, 1800 / 3600, 1, 1],
      ],
    );
    // AQH per group: US qualifies in both QHs of its half hour, DE in one: over the period's 4 QHs.
    expect(byCountry.breakdown.map((g) => g.aqh)).toEqual([1 / 4, 2 / 4]);
    const byClass = buildReport(events, { ...period, basis: 'gross', by: 'class' });
    expect(byClass.breakdown.map((g) => [g.group, g.activeSessions])).toEqual([
      ['bot', 1],
      ['human', 2],
      ['relay', 1],
    ]);
    const byPlayer = buildReport(events, { ...period, basis: 'gross', by: 'player' });
    expect(byPlayer.breakdown.map((g) => [g.group, g.activeSessions])).toEqual([
      ['Googlebot', 1],
      ['Mobile', 1],
      ['VLC', 2],
    ]);
    expect(buildReport(events, { ...period, by: 'output' }).breakdown.map((g) => g.group)).toEqual([
      'shoutcast',
    ]);
    expect(buildReport(events, { ...period, by: 'device' }).breakdown.map((g) => g.group)).toEqual([
      'desktop',
      'mobile',
    ]);
    // Without rules only the origin set by ingest's IP ranges excludes: the relay, not the bot.
    expect(buildReport(events, { from: at(7, 0), to: at(8, 0) }).summary[0]?.activeSessions).toBe(3);
  });

  it('counts sessions of at least leftRunning seconds apart, without removing them', () => {
    const long = shoutcast('long', at(7, 0), at(7, 30), { listener: 'L9' });
    const report = buildReport([...events, ...long], { ...period, leftRunningS: 1800 });
    expect(report.config.leftRunning).toBe(1800);
    // human-us and long listen 1800 s each; the bot's 1800 s are not counted net.
    expect(report.summary[0]).toMatchObject({ activeSessions: 3, leftRunning: 2 });
  });
});
