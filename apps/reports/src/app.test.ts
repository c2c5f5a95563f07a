import { createAudienceOf, NO_AGENT_RULES } from '@earshot/audience';
import {
  buildReport as coreReport,
  type ListenEvent,
  parseReportTime,
  type ReportOptions,
} from '@earshot/core';
import { type Db, insertEvents, type Queryable } from '@earshot/db';
import { loadAndFinalize, openTestDb, DEFAULT_TEST_SETTINGS as SETTINGS } from '@earshot/db/testing';
import { generateStation } from '@earshot/simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { parseStations } from './stations.js';

const TOKEN = 'read-token-0123456789abcdef';
const TZ = 'America/New_York';
const events: ListenEvent[] = generateStation({
  seed: 'reports-app',
  start: '2026-11-02T10:00:00Z',
  hours: 8,
  listeners: 10,
  tz: TZ,
  userAgents: true,
});
const stations = parseStations({
  stations: [
    {
      key: 'wxyz',
      name: 'WXYZ',
      tz: TZ,
      streams: ['main', 'main-mp3'],
      dayparts: [{ name: 'Morning show', spec: 'Mon-Fri 05:00-09:00' }],
    },
  ],
});
// The finalizer classifies each session with @earshot/audience's rules (isbot's list; loadAndFinalize's
// settings carry no station patterns), and the database's reports are net by default: the offline
// report must classify the same way to equal them.
const audience = createAudienceOf(NO_AGENT_RULES);
const buildReport = (list: Iterable<ListenEvent>, options: ReportOptions = {}) =>
  coreReport(list, { audience, ...options });
const defaults = { idleS: 300, minSessionS: 60, maxSessionS: 86_400, aqhQualifierS: 300, tz: 'UTC' };

describe('reports API', () => {
  let db: Db;
  let dispose: () => Promise<void>;
  let app: ReturnType<typeof createApp>;
  const get = (path: string, headers: Record<string, string> = {}) =>
    app.app.request(path, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });

  beforeAll(async () => {
    ({ db, dispose } = await openTestDb('pglite'));
    await loadAndFinalize(db, events);
    app = createApp({
      db,
      tokens: ['another-token-abcdefghij', TOKEN],
      defaults,
      stations,
      liveRefreshMs: 100,
    });
  }, 120_000);

  afterAll(async () => {
    app?.close();
    await dispose?.();
  });

  it('refuses /v1 without a read token, or with an unknown one, in JSON', async () => {
    const none = await app.app.request('/v1/report');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(await none.json()).toMatchObject({ error: 'unauthorized' });
    expect((await get('/v1/report', { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await get('/v1/report', { authorization: TOKEN })).status).toBe(401);
  });

  it('serves health, OpenAPI and the dashboard without a token', async () => {
    expect(await (await app.app.request('/healthz')).json()).toEqual({ ok: true });
    const doc = await (await app.app.request('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/report');
    const page = await app.app.request('/');
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('/dashboard.js');
    const uplot = await app.app.request('/vendor/uPlot.esm.js');
    expect(uplot.status).toBe(200);
    expect(await uplot.text()).toContain('export');
  });

  it('returns the section 7 report, equal to the offline one, and states its config', async () => {
    const res = await get(
      `/v1/report?from=2026-11-02T06:00&to=2026-11-02T12:00&tz=${TZ}&daypart=AM%20drive&aqhQualifier=180`,
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    const from = parseReportTime('2026-11-02T06:00', TZ);
    const to = parseReportTime('2026-11-02T12:00', TZ);
    if (!from.ok || !to.ok) throw new Error('bad test times');
    const { DEFAULT_DAYPARTS } = await import('@earshot/core');
    const offline = buildReport(events, {
      from: from.ms,
      to: to.ms,
      tz: TZ,
      daypart: DEFAULT_DAYPARTS[1]!,
      aqhQualifierS: 180,
    });
    expect(body).toEqual(offline);
    expect(body.summary.length).toBeGreaterThan(0);
    expect(JSON.parse(res.headers.get('earshot-config')!)).toEqual(offline.config);
    // Without from/to: core's default period.
    expect(await (await get('/v1/report')).json()).toEqual(buildReport(events));
  });

  it('reports a station as one stream in its own zone', async () => {
    const body = await (await get('/v1/report?station=wxyz&daypart=Morning%20show')).json();
    const renamed = events.map((e) =>
      e.stream === 'main' || e.stream === 'main-mp3' ? { ...e, stream: 'wxyz' } : e,
    );
    const { resolveDaypart } = await import('@earshot/core');
    const d = resolveDaypart('Mon-Fri 05:00-09:00', []);
    if (!d.ok) throw new Error(d.reason);
    const { station, ...report } = body;
    expect(station).toEqual({ key: 'wxyz', name: 'WXYZ', streams: ['main', 'main-mp3'] });
    expect(report.config.tz).toBe(TZ);
    expect(report.config.daypart).toBe('Mon-Fri 05:00-09:00');
    expect(report).toEqual(
      buildReport(renamed, { streams: ['wxyz'], tz: TZ, daypart: { ...d.daypart, name: 'Morning show' } }),
    );
    expect(report.summary.map((s: { stream: string }) => s.stream)).toEqual(['wxyz']);
  });

  it('answers bad parameters with a 400 that names the parameter', async () => {
    const cases: [string, string][] = [
      ['/v1/report?tz=Mars/Olympus', 'tz'],
      ['/v1/report?daypart=Someday%2006:00-10:00', 'daypart'],
      ['/v1/report?from=yesterday', 'from'],
      ['/v1/report?from=2026-11-02&to=2026-11-01', 'to'],
      ['/v1/report?from=2020-01-01&to=2026-01-01', 'to'],
      ['/v1/report?idle=600', 'idle'],
      ['/v1/report?minSession=abc', 'minSession'],
      ['/v1/report?aqhQualifier=901', 'aqhQualifier'],
      ['/v1/report?station=nope', 'station'],
      ['/v1/report?station=wxyz&stream=main', 'stream'],
      ['/v1/report?format=xml', 'format'],
      ['/v1/report?format=csv&part=everything', 'part'],
      ['/v1/report?parts=summary,bogus', 'parts'],
      ['/v1/report?dayprt=AM%20drive', 'dayprt'],
      ['/v1/report?tz=UTC&tz=UTC', 'tz'],
      ['/v1/dayparts?daypart=AM%20drive', 'daypart'],
      ['/v1/breakdowns?from=2026-13-01', 'from'],
      ['/v1/report?format=csv&parts=summary', 'parts'],
      ['/v1/report?format=json&part=summary', 'part'],
      ['/v1/live?stream=main', 'stream'],
      ['/v1/live/stream?since=0', 'since'],
      ['/v1/streams?tz=UTC', 'tz'],
    ];
    for (const [path, parameter] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      const body = await res.json();
      expect(body, path).toMatchObject({ error: 'bad parameter', parameter });
      expect(typeof body.reason).toBe('string');
    }
    // CSV chosen by Accept cannot take parts either.
    const csvParts = await get('/v1/report?parts=summary', { accept: 'text/csv' });
    expect(csvParts.status).toBe(400);
    expect(await csvParts.json()).toMatchObject({ parameter: 'parts' });
    // The worker's own values are accepted.
    expect((await get('/v1/report?idle=300&minSession=60&maxSession=86400&parts=summary')).status).toBe(200);
  });

  it('returns one part as CSV by format=csv or by Accept: text/csv', async () => {
    const offline = buildReport(events, { tz: TZ });
    const minutes = await get(`/v1/report?tz=${TZ}&format=csv&part=minutes`);
    expect(minutes.status).toBe(200);
    expect(minutes.headers.get('content-type')).toMatch(/text\/csv/);
    expect(minutes.headers.get('content-disposition')).toMatch(/attachment; filename=".*minutes.*\.csv"/);
    const lines = (await minutes.text()).trimEnd().split('\n');
    expect(lines[0]).toBe('stream,minute,listeners,sessions');
    expect(lines).toHaveLength(offline.minutes.length + 1);
    const first = offline.minutes[0]!;
    expect(lines[1]).toBe(`${first.stream},${first.minute},${first.listeners},${first.sessions}`);

    const summary = await get(`/v1/report?tz=${TZ}`, { accept: 'text/csv' });
    const rows = (await summary.text()).trimEnd().split('\n');
    expect(rows[0]).toBe(
      'stream,quarterHours,aqh,aas,tlh,cume,activeSessions,sessionStarts,atsl,tsl,tslNielsen,excludedBot,excludedRelay,excludedMonitor,leftRunning',
    );
    expect(rows).toHaveLength(offline.summary.length + 1);
    expect(rows[1]!.split(',').map(Number).slice(1)).toEqual(
      [
        'quarterHours',
        'aqh',
        'aas',
        'tlh',
        'cume',
        'activeSessions',
        'sessionStarts',
        'atsl',
        'tsl',
        'tslNielsen',
        'excludedBot',
        'excludedRelay',
        'excludedMonitor',
        'leftRunning',
      ].map((k) => offline.summary[0]![k as 'aqh']),
    );
    expect(JSON.parse(summary.headers.get('earshot-config')!)).toEqual(offline.config);

    const sessions = await (await get('/v1/report?format=csv&part=sessions')).text();
    expect(sessions.trimEnd().split('\n')).toHaveLength(offline.sessions.length + 1);
  });

  it('picks CSV by Accept only when it is preferred, honouring q-values', async () => {
    const kind = async (accept: string) => {
      const res = await get('/v1/report?tz=UTC', { accept });
      expect(res.status, accept).toBe(200);
      return res.headers.get('content-type')?.split(';')[0];
    };
    expect(await kind('text/csv')).toBe('text/csv');
    expect(await kind('text/csv;q=0')).toBe('application/json');
    expect(await kind('application/json, text/csv;q=0')).toBe('application/json');
    expect(await kind('text/csv;q=0, */*')).toBe('application/json');
    expect(await kind('application/json;q=0.5, text/csv')).toBe('text/csv');
    expect(await kind('text/csv;q=0.4, application/json;q=0.9')).toBe('application/json');
    expect(await kind('*/*')).toBe('application/json');
    expect(await kind('text/html')).toBe('application/json');
  });

  it('names a CSV download after the config that shaped it, and keeps the Earshot-Config header', async () => {
    const name = async (path: string) => {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('earshot-config'), path).toBeTruthy();
      return /^attachment; filename="([^"]+)"$/.exec(res.headers.get('content-disposition') ?? '')?.[1];
    };
    expect(
      await name(`/v1/report?from=2026-11-02&to=2026-11-03&tz=${TZ}&daypart=AM%20drive&format=csv`),
    ).toBe('earshot-summary-2026-11-02_2026-11-03-America_New_York-AM_drive-aqh300s.csv');
    expect(
      await name(
        '/v1/report?from=2026-11-02T06:00&to=2026-11-02T12:00&station=wxyz&aqhQualifier=180&format=csv&part=minutes',
      ),
    ).toBe('earshot-minutes-wxyz-2026-11-02T0600_2026-11-02T1200-America_New_York-aqh180s.csv');
    expect(
      await name(
        '/v1/report?from=2026-11-02&to=2026-11-03&stream=main&daypart=Mon-Fri%2007:00-09:00&format=csv&part=sessions',
      ),
    ).toBe('earshot-sessions-main-2026-11-02_2026-11-03-UTC-Mon-Fri_07_00-09_00-aqh300s.csv');
    // A breakdown names its dimension, a gross report says so.
    expect(await name('/v1/report?from=2026-11-02&to=2026-11-03&by=country&gross=true&format=csv')).toBe(
      'earshot-breakdown-by-country-2026-11-02_2026-11-03-UTC-aqh300s-gross.csv',
    );
    // Without from/to: the data's period, in local time (here whole quarter-hours around the data).
    const offline = buildReport(events, { tz: TZ });
    const local = (iso: string) => {
      const t = new Date(Date.parse(iso) - 5 * 3_600_000).toISOString(); // EST on these days
      return `${t.slice(0, 10)}T${t.slice(11, 13)}${t.slice(14, 16)}`;
    };
    expect(await name(`/v1/report?tz=${TZ}&format=csv&part=quarterHours`)).toBe(
      `earshot-quarterHours-${local(offline.config.from)}_${local(offline.config.to)}-America_New_York-aqh300s.csv`,
    );
  });

  it('reports every daypart, and breakdowns whose counts add up', async () => {
    const dayparts = await (await get(`/v1/dayparts?tz=${TZ}`)).json();
    expect(dayparts.dayparts.map((d: { name: string }) => d.name)).toEqual([
      'All hours',
      'Mon-Sun 6a-12m',
      'AM drive',
      'Midday',
      'PM drive',
      'Evening',
      'Overnight',
    ]);
    const am = dayparts.dayparts[2];
    const { DEFAULT_DAYPARTS } = await import('@earshot/core');
    const period = { from: Date.parse(dayparts.config.from), to: Date.parse(dayparts.config.to) };
    expect(am.summary).toEqual(
      buildReport(events, { ...period, tz: TZ, daypart: DEFAULT_DAYPARTS[1]! }).summary,
    );

    const b = await (await get(`/v1/breakdowns?tz=${TZ}`)).json();
    const offline = buildReport(events, { tz: TZ });
    const starts = offline.summary.reduce((n, s) => n + s.sessionStarts, 0);
    const histogramCounted = b.histogram.reduce(
      (n: number, h: { sessions: number; short: number }) => n + h.sessions - h.short,
      0,
    );
    expect(histogramCounted).toBe(starts);
    expect(b.histogram.map((h: { label: string }) => h.label)).toEqual([
      'short (< 60 s)',
      '1-10 min',
      '10-30 min',
      '30-90 min',
      '90 min-4 h',
      'over 4 h',
    ]);
    expect(b.histogram[0].short).toBeGreaterThan(0);
    // The first bin holds the tune-outs and nothing else; the others, counted sessions only.
    expect(b.histogram[0].sessions).toBe(b.histogram[0].short);
    expect(b.histogram.slice(1).every((h: { short: number }) => h.short === 0)).toBe(true);
    // One table per dimension (class only when gross), each equal to the report's breakdown by it.
    expect(Object.keys(b.groups).sort()).toEqual(['country', 'device', 'os', 'output', 'player']);
    type Row = { group: string; activeSessions: number; sessionStarts: number; tlh: number };
    const total = (rows: Row[], key: 'activeSessions' | 'sessionStarts') =>
      rows.reduce((n, r) => n + r[key], 0);
    const active = offline.summary.reduce((n, s) => n + s.activeSessions, 0);
    expect(active).toBeGreaterThan(0);
    for (const by of ['country', 'device', 'os', 'player', 'output'] as const) {
      const rows: Row[] = b.groups[by];
      expect(rows, by).toEqual(buildReport(events, { tz: TZ, by }).breakdown);
      // Every active session of the selection (all streams here) is in exactly one group.
      expect(total(rows, 'activeSessions'), by).toBe(active);
      expect(total(rows, 'sessionStarts'), by).toBe(starts);
    }
    expect(b.groups.output.map((o: Row) => o.group).sort()).toEqual(['hls', 'shoutcast']);
    // The seed's user agents include VLC's; the bots it has are left out of net groups.
    expect(b.groups.player.map((o: Row) => o.group)).toContain('VLC');
    const bots = offline.summary.reduce((n, s) => n + s.excludedBot, 0);
    expect(bots).toBeGreaterThan(0);
    const gross = await (await get(`/v1/breakdowns?tz=${TZ}&gross=true`)).json();
    expect(gross.config.basis).toBe('gross');
    const classes = gross.groups.class as Row[];
    expect(classes.find((r) => r.group === 'bot')?.activeSessions).toBe(bots);
    expect(total(classes, 'activeSessions')).toBe(active + bots);
    expect(total(gross.groups.output, 'activeSessions')).toBe(active + bots);
    // A week earlier in local time: across the end of DST that is 7 x 24 h + 1 h.
    expect(Date.parse(b.comparison.current.from) - Date.parse(b.comparison.previous.from)).toBe(
      7 * 86_400_000 + 3_600_000,
    );
    expect(b.comparison.streams[0].previous).toBeNull();
    expect(b.comparison.streams[0].delta.aqh.change).toBe(b.comparison.streams[0].current.aqh);
    expect(b.config).toEqual(offline.config);
  });

  it("counts the people listening now, with the last minute's seconds beside them, and pushes them over SSE", async () => {
    const now = Date.now();
    await insertEvents(
      db,
      [
        {
          session: 'live-1',
          stream: 'live-a',
          output: 'shoutcast',
          time: now - 10_000,
          duration: 30,
          bytes: 480_000,
        },
      ],
      { idleS: 300 },
    );
    const live = await (await get('/v1/live')).json();
    // One listener whose 30 s tick came 10 s ago: 1 person; 30 s of the last 60 s: 0.5.
    expect(live.streams).toEqual([{ stream: 'live-a', listeners: 1, listeningNow: 0.5 }]);
    expect(live.total).toBe(1);
    expect(live.totalListeningNow).toBe(0.5);
    expect(live.gap).toEqual({ idleS: 300, gapFactor: 1.5, gapSlackS: 5 });
    expect(live.config).toMatchObject({ idle: 300, minSession: 60 });

    const res = await get('/v1/live/stream', { accept: 'text/event-stream' });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const next = async () => {
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += value;
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .find((l) => l.startsWith('data:'))!;
          return JSON.parse(data.slice(5));
        }
      }
    };
    expect((await next()).total).toBe(1);
    await insertEvents(
      db,
      [
        // HLS: the master playlist's start event names the group; the segment, its variant.
        {
          id: 'live-2-start',
          session: 'live-2',
          stream: 'live-b',
          output: 'hls',
          time: Date.now() - 2000,
          duration: 0,
          bytes: 0,
        },
        {
          id: 'live-2-seg',
          session: 'live-2',
          stream: 'live-b-64k',
          output: 'hls',
          time: Date.now() - 1000,
          duration: 6,
          bytes: 96_000,
        },
      ],
      { idleS: 300 },
    );
    let update = await next();
    for (let i = 0; i < 20 && update.streams.length < 2; i++) update = await next();
    // Live files HLS segments under the session's group key, as reports do.
    expect(update.streams.map((s: { stream: string }) => s.stream)).toEqual(['live-a', 'live-b']);
    expect(update.streams[1]).toEqual({ stream: 'live-b', listeners: 1, listeningNow: 0.1 });
    expect(update.total).toBe(2);
    expect(app.live.subscriberCount).toBe(1);
    await reader.cancel();
    // The client left: its subscription ends with it, and the feed stops polling.
    await expect.poll(() => app.live.subscriberCount).toBe(0);
  });
});

describe('live listeners over SSE', () => {
  const headers = { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' };

  it('unsubscribes a client that leaves while its first snapshot is being queried', async () => {
    let entered!: () => void;
    const querying = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A database whose live query takes until the test lets it go.
    const slow = {
      drizzle: undefined as never,
      query: (async () => {
        entered();
        await held;
        return [];
      }) as Queryable['query'],
    };
    const reports = createApp({ db: slow, tokens: [TOKEN], defaults, liveRefreshMs: 20 });
    try {
      const res = await reports.app.request('/v1/live/stream', { headers });
      expect(res.status).toBe(200);
      await querying;
      await res.body!.cancel();
      release();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(reports.live.subscriberCount).toBe(0);
    } finally {
      reports.close();
    }
  });

  it('ends open streams when the app closes', async () => {
    const empty = { drizzle: undefined as never, query: (async () => []) as Queryable['query'] };
    const reports = createApp({ db: empty, tokens: [TOKEN], defaults, liveRefreshMs: 20 });
    const res = await reports.app.request('/v1/live/stream', { headers });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toContain('event: live');
    await expect.poll(() => reports.live.subscriberCount).toBe(1);
    reports.close();
    expect(reports.live.subscriberCount).toBe(0);
    for (;;) if ((await reader.read()).done) break;
  });
});

describe('a deployment with minSession 120 s and more than 400 days of data', () => {
  const minSessionS = 120;
  const settings = { ...SETTINGS, minSessionS };
  const long = { ...defaults, minSessionS };
  // Two sessions of an archive stream, 520 days apart: the data's extent is longer than a report may be.
  const archive: ListenEvent[] = [
    {
      session: 'old',
      stream: 'archive',
      output: 'shoutcast',
      time: Date.parse('2025-06-01T12:05:00Z'),
      duration: 300,
      bytes: 1,
    },
    {
      session: 'new',
      stream: 'archive',
      output: 'shoutcast',
      time: Date.parse('2026-11-02T12:05:00Z'),
      duration: 300,
      bytes: 1,
    },
  ];
  let db: Db;
  let dispose: () => Promise<void>;
  let app: ReturnType<typeof createApp>;
  const get = (path: string) => app.app.request(path, { headers: { authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    ({ db, dispose } = await openTestDb('pglite'));
    await loadAndFinalize(db, [...events, ...archive], settings);
    app = createApp({ db, tokens: [TOKEN], defaults: long, stations });
  }, 120_000);

  afterAll(async () => {
    app?.close();
    await dispose?.();
  });

  it('refuses a default period longer than 400 days, naming the bound that was left out', async () => {
    const refused: [string, string][] = [
      ['/v1/report', 'from'],
      ['/v1/report?to=2026-11-03', 'from'],
      ['/v1/report?from=2025-06-01', 'to'],
      ['/v1/dayparts', 'from'],
      ['/v1/breakdowns?stream=archive', 'from'],
      ['/v1/report?format=csv', 'from'],
    ];
    for (const [path, parameter] of refused) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      const body = await res.json();
      expect(body, path).toMatchObject({ error: 'bad parameter', parameter });
      expect(body.reason, path).toMatch(/400 days/);
    }
    // Within the cap the default is still the data's own period, equal to the offline report.
    const main = await get('/v1/report?stream=main&stream=main-mp3');
    expect(main.status).toBe(200);
    expect(await main.json()).toEqual(buildReport(events, { minSessionS, streams: ['main', 'main-mp3'] }));
    const fromOnly = await (await get('/v1/report?from=2026-11-01&parts=summary')).json();
    expect(fromOnly.config.to).toBe(buildReport([...events, ...archive], { minSessionS }).config.to);
  });

  it('labels the histogram by minSession: the tune-outs first, then counted sessions from minSession up', async () => {
    const period = 'from=2026-11-02&to=2026-11-03&stream=main&stream=main-mp3';
    const b = await (await get(`/v1/breakdowns?${period}`)).json();
    expect(b.histogram.map((h: { label: string }) => h.label)).toEqual([
      'short (< 120 s)',
      '2-10 min',
      '10-30 min',
      '30-90 min',
      '90 min-4 h',
      'over 4 h',
    ]);
    expect(b.histogram[0]).toMatchObject({ fromS: 0, toS: 120 });
    expect(b.histogram[1]).toMatchObject({ fromS: 120, toS: 600 });
    expect(b.histogram[0].short).toBeGreaterThan(0);
    expect(b.histogram[0].sessions).toBe(b.histogram[0].short);
    const offline = buildReport(events, {
      minSessionS,
      from: Date.parse('2026-11-02T00:00:00Z'),
      to: Date.parse('2026-11-03T00:00:00Z'),
    });
    // Every counted session that starts in the period is in a counted bin, by its listening time.
    const counted = b.histogram.slice(1);
    expect(counted.reduce((n: number, h: { sessions: number }) => n + h.sessions, 0)).toBe(
      offline.summary.reduce((n, s) => n + s.sessionStarts, 0),
    );
    for (const h of counted) {
      const inBin = offline.sessions.filter(
        (s) => s.duration >= h.fromS && (h.toS === null || s.duration < h.toS),
      ).length;
      expect(h.sessions, h.label).toBe(inBin);
    }
    expect(b.basis).toMatch(/120 s/);
  });
});
