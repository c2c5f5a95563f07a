import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type ListenEvent, localTime, type TrackEvent } from '@earshot/core';
import { type Db, insertTracks } from '@earshot/db';
import { loadAndFinalize, openTestDb } from '@earshot/db/testing';
import { generateStation } from '@earshot/simulate';
import { serve } from '@hono/node-server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { parseStations } from '../src/stations.js';
import { launchChromium } from './chromium.js';

const ARTIFACTS = fileURLToPath(new URL('../../../artifacts/', import.meta.url));
const TOKEN = 'dashboard-test-token-0123456789';
const TZ = 'America/New_York';
// The browser's own zone, never the report's: every time on the page must be drawn in TZ anyway.
const BROWSER_TZ = 'Asia/Tokyo';

const pad = (n: number) => String(n).padStart(2, '0');
/** uPlot's default legend stamp (`{YYYY}-{MM}-{DD} {h}:{mm}{aa}`) of epoch ms in TZ. */
function legendStamp(ms: number): string {
  const t = localTime(ms, TZ);
  const hour = Math.floor(t.minuteOfDay / 60);
  return `${t.year}-${pad(t.month)}-${pad(t.day)} ${hour % 12 || 12}:${pad(t.minuteOfDay % 60)}${hour >= 12 ? 'pm' : 'am'}`;
}
/** `HH:MM:SS` of epoch ms in a zone. */
const clock = (ms: number, tz: string) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(ms);
/** Local date `YYYY-MM-DD` of epoch ms in TZ, `days` days later. */
function localDate(ms: number, days = 0): string {
  const t = localTime(ms, TZ);
  return new Date(Date.UTC(t.year, t.month - 1, t.day + days)).toISOString().slice(0, 10);
}

type Cell = { row: string; field: string; value: string; text: string };
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** A figure as the page prints it (format.js's `fmt`): at most `digits` decimals, en-US grouping. */
const fmt = (v: number, digits = 2) => v.toLocaleString('en-US', { maximumFractionDigits: digits });
/** The columns of each breakdown table: the figure and its decimals. */
const GROUP_FIGURES = [
  ['activeSessions', 0],
  ['tlh', 2],
  ['cume', 0],
  ['aqh', 2],
] as const;
type GroupRow = { group: string } & Record<(typeof GROUP_FIGURES)[number][0], number>;
type SummaryRow = {
  stream: string;
  activeSessions: number;
  excludedBot: number;
  excludedRelay: number;
  excludedMonitor: number;
  leftRunning: number;
} & Record<string, number>;
const COUNTED_APART = ['excludedBot', 'excludedRelay', 'excludedMonitor', 'leftRunning'] as const;
// Where the sessions came from, as ingest would have set it from their IPs: several countries (and
// some unknown), a few relays and monitors. Session by session, in the order the generator made them.
const COUNTRIES = ['US', 'US', 'US', 'GB', 'DE', 'CA', 'BR', undefined];
function placeSessions(events: ListenEvent[]): ListenEvent[] {
  const index = new Map<string, number>();
  return events.map((e) => {
    let i = index.get(e.session);
    if (i === undefined) {
      i = index.size;
      index.set(e.session, i);
    }
    const country = COUNTRIES[i % COUNTRIES.length];
    const origin = i % 9 === 4 ? 'relay' : i % 23 === 11 ? 'monitor' : undefined;
    return { ...e, ...(country ? { country } : {}), ...(origin ? { origin } : {}) };
  });
}

/** `YYYY-MM-DD HH:MM:SS` of an ISO time in TZ, as the tracks tables print a start. */
const stamp = (iso: string) => `${localDate(Date.parse(iso))} ${clock(Date.parse(iso), TZ)}`;
/** A tune-out index as the page prints it: two decimals, '-' when there is none. */
const indexText = (v: number | null) => (v === null ? '-' : v.toFixed(2));
/** A number cell's data-value as the figure it holds (null for none). */
const figureOf = (c: Cell | undefined) =>
  c === undefined ? undefined : c.value === 'null' ? null : Number(c.value);
/**
 * Track events over the seeded sessions' last three hours: a play every 4 minutes on each of the
 * station's two streams (a pool of 24 songs, some talk and ads), each stream ending on a play that
 * has not ended yet (one open, one with a long duration), and a third stream whose last play ended
 * two hours ago (so it plays nothing now).
 */
function seedTracks(nowMs: number): { tracks: TrackEvent[]; current: Record<string, TrackEvent> } {
  const tracks: TrackEvent[] = [];
  ['main', 'main-mp3'].forEach((stream, si) => {
    for (let i = 0; ; i++) {
      const time = nowMs - 3 * 3_600_000 + si * 90_000 + i * 240_000;
      if (time >= nowMs - 120_000) break;
      const k = (i * 7 + si * 3) % 24;
      const kind = i % 9 === 4 ? 'talk' : i % 13 === 6 ? 'ad' : 'music';
      tracks.push(
        kind === 'music'
          ? {
              id: `${stream}-${i}`,
              stream,
              time,
              artist: `Artist ${k % 8}`,
              title: `Song ${k}`,
              ...(k % 3 === 0
                ? { isrc: `USRC1760${pad(k).padStart(4, '0')}`, label: 'Earshot Records' }
                : {}),
              album: `Album ${k % 5}`,
              duration: 200,
              kind,
            }
          : {
              id: `${stream}-${i}`,
              stream,
              time,
              artist: '',
              title: kind === 'ad' ? 'Spot' : 'Studio talk',
              kind,
            },
      );
    }
  });
  const current: Record<string, TrackEvent> = {
    main: {
      id: 'main-now',
      stream: 'main',
      time: nowMs - 30_000,
      artist: 'Now Artist',
      title: 'Open Ended',
      kind: 'music',
    },
    'main-mp3': {
      id: 'mp3-now',
      stream: 'main-mp3',
      time: nowMs - 20_000,
      artist: 'Long Player',
      title: 'An Hour Long',
      duration: 3600,
      kind: 'music',
    },
  };
  tracks.push(...Object.values(current), {
    id: 'old-1',
    stream: 'old-stream',
    time: nowMs - 2 * 3_600_000,
    artist: 'Gone',
    title: 'Over Already',
    duration: 60,
    kind: 'music',
  });
  return { tracks, current };
}

describe('dashboard in headless Chromium', () => {
  let db: Db;
  let dispose: () => Promise<void>;
  let browser: Browser;
  let server: ReturnType<typeof serve>;
  let reports: ReturnType<typeof createApp>;
  let base: string;
  // The live feed's clock stands still, so the page and GET /v1/live show the same snapshot.
  let liveAt: number;
  let lastMinuteMs: number;
  let seeded: ReturnType<typeof seedTracks>;

  beforeAll(async () => {
    ({ db, dispose } = await openTestDb('postgres'));
    // Four hours of a small station around now, so that "listening now" has something to show.
    // It runs 10 minutes past now, so a slow load still leaves listening in the last minute.
    const end = Math.floor(Date.now() / 60_000) * 60_000 + 10 * 60_000;
    // User agents with more bots than the default 3% (isbot knows Googlebot, UptimeRobot, curl).
    const events = placeSessions(
      generateStation({
        seed: 'dashboard',
        start: end - 4 * 3_600_000,
        hours: 4,
        listeners: 25,
        tz: TZ,
        userAgents: true,
        botShare: 0.15,
      }),
    );
    // A stream left running: 9 h of VLC from the Netherlands, ending before the station's hours.
    const leftFrom = end - 14 * 3_600_000;
    for (let tick = 1; tick <= (9 * 3600) / 30; tick++) {
      events.push({
        session: 'left-running',
        stream: 'main-mp3',
        output: 'shoutcast',
        time: leftFrom + tick * 30_000,
        duration: 30,
        bytes: 480_000,
        listener: 'left-running-listener',
        ua: 'VLC/3.0.21 LibVLC/3.0.21',
        country: 'NL',
      });
    }
    await loadAndFinalize(db, events);
    seeded = seedTracks(Date.now());
    await insertTracks(db, seeded.tracks);
    liveAt = Date.now();
    const stations = parseStations({
      stations: [{ key: 'demo', name: 'Demo FM', tz: TZ, streams: ['main', 'main-mp3'] }],
    });
    reports = createApp({
      db,
      tokens: [TOKEN],
      stations,
      defaults: { idleS: 300, minSessionS: 60, maxSessionS: 86_400, aqhQualifierS: 300, tz: TZ },
      liveRefreshMs: 1000,
      liveClock: () => liveAt,
    });
    server = serve({ fetch: reports.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    reports?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await dispose?.();
  });

  const api = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status, path).toBe(200);
    return res.json();
  };

  it('shows the same figures as the API and saves a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: BROWSER_TZ });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const generation = () => page.evaluate(() => Number(document.body.dataset.generation ?? 0));
    /** Submits the pickers and waits for the refresh this submit started, not an earlier one. */
    const show = async () => {
      const before = await generation();
      await page.click('#pickers button[type="submit"]');
      await page.waitForSelector(`body[data-generation="${before + 1}"][data-ready="true"]`, {
        timeout: 30_000,
      });
    };
    await page.goto(`${base}/?token=${TOKEN}`);
    await page.waitForSelector('body[data-generation="1"][data-ready="true"]', { timeout: 30_000 });
    await page.waitForSelector('#live tbody tr', { timeout: 30_000 });
    // The token left the address bar for localStorage.
    expect(new URL(page.url()).searchParams.get('token')).toBeNull();
    lastMinuteMs = Math.max(
      ...(await api('/v1/streams')).streams.map((s: { lastMinute: string }) => Date.parse(s.lastMinute)),
    );

    const cells = (table: string) =>
      page.$$eval(`${table} td[data-field]`, (tds) =>
        tds.map((td) => ({
          row: td.getAttribute('data-row') ?? '',
          field: td.getAttribute('data-field') ?? '',
          value: td.getAttribute('data-value') ?? '',
          text: td.textContent ?? '',
        })),
      ) as Promise<Cell[]>;
    const shownQuery = (): Promise<string> =>
      page.evaluate(() => (window as unknown as { __earshot: { query: string } }).__earshot.query);
    const query = await shownQuery();
    /** Flips the net/gross switch and waits for the refresh it starts. */
    const switchTo = async (basis: 'net' | 'gross') => {
      const before = await generation();
      await page.check(`#basis-${basis}`);
      await page.waitForSelector(`body[data-generation="${before + 1}"][data-ready="true"]`, {
        timeout: 30_000,
      });
    };
    /**
     * The page's basis, summary and sessions counted apart equal the report's: the excluded counts
     * by reason and those left running, per stream and in all, as formatted.
     */
    const expectSummaryOf = async (of: { config: { basis: string }; summary: SummaryRow[] }) => {
      expect(await page.getAttribute('#basis', 'data-basis')).toBe(of.config.basis);
      expect(await page.textContent('#basis')).toMatch(
        of.config.basis === 'net' ? /^Net: people only\./ : /^Gross: every counted session/,
      );
      const shown = await cells('#summary');
      expect(shown.length).toBe(of.summary.length * 10);
      for (const c of shown) {
        const row = of.summary.find((s) => s.stream === c.row);
        expect(Number(c.value), `${c.row} ${c.field}`).toBe(row?.[c.field]);
      }
      const apart = await cells('#counted-apart');
      for (const s of of.summary) {
        for (const field of COUNTED_APART) {
          const c = apart.find((x) => x.row === s.stream && x.field === field);
          expect(Number(c?.value), `${s.stream} ${field}`).toBe(s[field]);
          expect(c?.text, `${s.stream} ${field}`).toBe(fmt(s[field], 0));
        }
      }
      expect(of.summary.length).toBeGreaterThan(1);
      for (const field of COUNTED_APART) {
        const c = apart.find((x) => x.row === 'total' && x.field === field);
        expect(Number(c?.value), `total ${field}`).toBe(sum(of.summary.map((s) => s[field])));
      }
    };
    /**
     * One table per dimension of /v1/breakdowns' groups, each with the same groups by TLH (largest
     * first) and the same figures, as formatted; the shares of TLH add up to 1.
     */
    const expectGroupsOf = async (groups: Record<string, GroupRow[]>) => {
      const tables = await page.$$eval('#groups table', (ts) => ts.map((t) => t.id));
      expect(tables.sort()).toEqual(
        Object.keys(groups)
          .map((d) => `group-${d}`)
          .sort(),
      );
      for (const [dimension, rows] of Object.entries(groups)) {
        expect(rows.length, dimension).toBeGreaterThan(0);
        const shown = await cells(`#group-${dimension}`);
        const byTlh = [...rows].sort(
          (a, b) => b.tlh - a.tlh || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0),
        );
        expect(
          shown.filter((c) => c.field === 'group').map((c) => c.row),
          dimension,
        ).toEqual(byTlh.map((r) => r.group));
        for (const r of rows) {
          for (const [field, digits] of GROUP_FIGURES) {
            const c = shown.find((x) => x.row === r.group && x.field === field);
            expect(Number(c?.value), `${dimension} ${r.group} ${field}`).toBe(r[field]);
            expect(c?.text, `${dimension} ${r.group} ${field}`).toBe(fmt(r[field], digits));
          }
        }
        const shares = shown.filter((c) => c.field === 'share');
        expect(shares.length).toBe(rows.length);
        expect(sum(shares.map((c) => Number(c.value)))).toBeCloseTo(1, 9);
      }
    };

    // With empty pickers the page still asks for an explicit period: the seven local days that end
    // with the last day with listening.
    const asked = new URLSearchParams(query);
    expect(asked.get('from')).toBe(localDate(lastMinuteMs, -6));
    expect(asked.get('to')).toBe(localDate(lastMinuteMs, 1));
    expect(await page.inputValue('#from')).toBe(localDate(lastMinuteMs, -6));
    expect(await page.inputValue('#to')).toBe(localDate(lastMinuteMs));

    // Summary table = /v1/report's summary, number for number.
    const report = await api(`/v1/report?${query}&parts=summary,minutes,quarterHours`);
    const summary = await cells('#summary');
    expect(report.summary.length).toBeGreaterThan(0);
    expect(summary.length).toBe(report.summary.length * 10);
    for (const c of summary) {
      const row = report.summary.find((s: { stream: string }) => s.stream === c.row);
      expect(Number(c.value), `${c.row} ${c.field}`).toBe(row[c.field]);
      expect(c.text).not.toBe('');
    }

    // Daypart table = /v1/dayparts.
    const dayparts = await api(
      `/v1/dayparts?${new URLSearchParams([...new URLSearchParams(query)].filter(([k]) => k !== 'daypart'))}`,
    );
    const dp = await cells('#dayparts');
    let compared = 0;
    for (const d of dayparts.dayparts) {
      for (const s of d.summary) {
        for (const field of ['aqh', 'cume', 'tlh', 'aas', 'atsl', 'tsl']) {
          const c = dp.find((x) => x.row === `${d.name}|${s.stream}` && x.field === field);
          expect(Number(c?.value), `${d.name} ${s.stream} ${field}`).toBe(s[field]);
          compared++;
        }
      }
    }
    expect(compared).toBe(dp.length);

    // Histogram table = /v1/breakdowns.
    const breakdowns = await api(`/v1/breakdowns?${query}`);
    const hist = await cells('#histogram');
    for (const bin of breakdowns.histogram) {
      expect(Number(hist.find((c) => c.row === bin.label && c.field === 'sessions')?.value)).toBe(
        bin.sessions,
      );
    }

    // Net by default: the basis shown, the sessions counted apart (the seed has bots, relays,
    // monitors and one stream left running), and one table per dimension of the groups, no class.
    expect(asked.get('gross')).toBeNull();
    expect(report.config.basis).toBe('net');
    expect(breakdowns.config.basis).toBe('net');
    const net = (field: keyof SummaryRow) => sum(report.summary.map((s: SummaryRow) => s[field]));
    expect(net('excludedBot')).toBeGreaterThan(0);
    expect(net('excludedRelay')).toBeGreaterThan(0);
    expect(net('excludedMonitor')).toBeGreaterThan(0);
    expect(net('leftRunning')).toBe(1);
    await expectSummaryOf(report);
    expect(Object.keys(breakdowns.groups)).not.toContain('class');
    await expectGroupsOf(breakdowns.groups);
    // Every active session is in one group of each dimension.
    for (const rows of Object.values(breakdowns.groups) as GroupRow[][])
      expect(sum(rows.map((r) => r.activeSessions))).toBe(net('activeSessions'));
    // Countries by their English names, sessions without one as Unknown.
    const countries = (await cells('#group-country')).filter((c) => c.field === 'group');
    expect(countries.length).toBeGreaterThanOrEqual(6);
    expect(countries.find((c) => c.row === 'US')?.text).toBe('United States');
    expect(countries.find((c) => c.row === 'NL')?.text).toBe('Netherlands');
    expect(countries.find((c) => c.row === 'unknown')?.text).toBe('Unknown');

    // The charts hold the API's series: listeners per minute and qualified sessions per QH.
    const charts = await page.evaluate(() => {
      const c = (window as unknown as { __earshot: { charts: Record<string, { data: number[][] }> } })
        .__earshot.charts;
      const total = (d: number[][]) =>
        d.slice(1).reduce((sum, s) => sum + s.reduce((a, b) => a + (b ?? 0), 0), 0);
      return {
        minutes: total(c.minutes!.data),
        quarterHours: total(c.quarterHours!.data),
        points: c.minutes!.data[0]!.length,
        bars: c.histogram!.data[1],
      };
    });
    expect(charts.minutes).toBeCloseTo(sum(report.minutes.map((m: { listeners: number }) => m.listeners)), 6);
    expect(charts.quarterHours).toBe(sum(report.quarterHours.map((q: { qualified: number }) => q.qualified)));
    expect(charts.bars).toEqual(breakdowns.histogram.map((b: { sessions: number }) => b.sessions));
    expect(charts.points).toBe(new Set(report.minutes.map((m: { minute: string }) => m.minute)).size);

    // The time charts are drawn in the report's zone, not the browser's: uPlot's legend stamp of the
    // first minute is its local time in TZ.
    const firstMinute: { ts: number; stamp: string } = await page.evaluate(() => {
      const u = (
        window as unknown as {
          __earshot: {
            charts: Record<string, { data: number[][]; series: { value: (...a: unknown[]) => string }[] }>;
          };
        }
      ).__earshot.charts.minutes!;
      return { ts: u.data[0]![0]!, stamp: u.series[0]!.value(u, u.data[0]![0], 0, 0) };
    });
    // The chart's time axis is every stream's minutes merged; the report lists them stream by stream.
    const earliest = Math.min(...report.minutes.map((m: { minute: string }) => Date.parse(m.minute)));
    expect(firstMinute.ts * 1000).toBe(earliest);
    expect(firstMinute.stamp).toBe(legendStamp(firstMinute.ts * 1000));

    // Listening now: the live table shows /v1/live's snapshot, stream for stream, at its time in TZ.
    const liveApi = await api('/v1/live');
    expect(liveApi.total).toBeGreaterThan(0);
    await page.waitForFunction(
      (at) => (window as unknown as { __earshot: { live?: { at: string } } }).__earshot.live?.at === at,
      liveApi.at,
    );
    const live = await cells('#live');
    expect(live.map((c) => [c.row, Number(c.value)])).toEqual([
      ...liveApi.streams.map((s: { stream: string; listeners: number }) => [s.stream, s.listeners]),
      ['total', liveApi.total],
    ]);
    const liveText = await page.textContent('#live-at');
    expect(liveText).toBe(`at ${clock(Date.parse(liveApi.at), TZ)} ${TZ}`);
    expect(clock(Date.parse(liveApi.at), TZ)).not.toBe(clock(Date.parse(liveApi.at), BROWSER_TZ));

    // Tracks: the last plays and top songs tables equal /v1/tracks for the query shown (no
    // daypart), row for row and as formatted; the links carry the same period and basis.
    type Play = {
      id: string;
      stream: string;
      start: string;
      end: string;
      artist: string;
      title: string;
      kind: string;
      listenersAtStart: number;
      performances: number;
      tlh: number;
      tuneOuts: number;
      tuneOutIndex: number | null;
    };
    type Song = {
      key: string;
      artist: string;
      title: string;
      plays: number;
      performances: number;
      tlh: number;
      tuneOutIndex: number | null;
    };
    const tracksQueryOf = (q: string) =>
      new URLSearchParams([...new URLSearchParams(q)].filter(([k]) => k !== 'daypart'));
    const hrefParams = async (selector: string) =>
      new URL((await page.getAttribute(selector, 'href')) ?? '', base).searchParams;
    const expectTracksOf = async (q: string) => {
      const tq = tracksQueryOf(q);
      const tracks: { config: { basis: string }; plays: Play[]; songs: Song[] } = await api(
        `/v1/tracks?${tq}`,
      );
      expect(tracks.config.basis).toBe(tq.get('gross') === 'true' ? 'gross' : 'net');
      // What the page fetched is what the API answers to that query.
      expect(
        await page.evaluate(() => (window as unknown as { __earshot: { tracks: unknown } }).__earshot.tracks),
      ).toEqual(tracks);
      expect(tracks.plays.length).toBeGreaterThan(50);
      expect(tracks.plays.some((p) => p.performances > 0)).toBe(true);
      const latest = [...tracks.plays]
        .sort(
          (a, b) =>
            Date.parse(b.start) - Date.parse(a.start) ||
            (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0) ||
            (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        )
        .slice(0, 50);
      const plays = await cells('#plays');
      expect(plays.filter((c) => c.field === 'start').map((c) => c.row)).toEqual(latest.map((p) => p.id));
      expect(plays.length).toBe(latest.length * 9);
      for (const p of latest) {
        const at = (field: string) => plays.find((c) => c.row === p.id && c.field === field);
        expect(at('start')?.text, p.id).toBe(stamp(p.start));
        expect(at('stream')?.text, p.id).toBe(p.stream);
        expect(at('track')?.text, p.id).toBe(p.artist ? `${p.artist} - ${p.title}` : p.title);
        expect(at('kind')?.text, p.id).toBe(p.kind);
        for (const [field, digits] of [
          ['listenersAtStart', 0],
          ['performances', 0],
          ['tlh', 2],
          ['tuneOuts', 0],
        ] as const) {
          expect(figureOf(at(field)), `${p.id} ${field}`).toBe(p[field]);
          expect(at(field)?.text, `${p.id} ${field}`).toBe(fmt(p[field], digits));
        }
        expect(figureOf(at('tuneOutIndex')), `${p.id} index`).toBe(p.tuneOutIndex);
        expect(at('tuneOutIndex')?.text, `${p.id} index`).toBe(indexText(p.tuneOutIndex));
      }
      // The marked indexes are those over 1.5.
      expect(
        await page.$$eval('#plays td.high', (tds) => tds.map((td) => td.getAttribute('data-row'))),
      ).toEqual(latest.filter((p) => p.tuneOutIndex !== null && p.tuneOutIndex > 1.5).map((p) => p.id));
      // Top songs: the API's first 20 (music, by performances), in its order.
      expect(tracks.songs.length).toBeGreaterThan(20);
      const top = tracks.songs.slice(0, 20);
      const songs = await cells('#songs');
      expect(songs.filter((c) => c.field === 'artist').map((c) => c.row)).toEqual(top.map((s) => s.key));
      expect(songs.length).toBe(top.length * 6);
      for (const s of top) {
        const at = (field: string) => songs.find((c) => c.row === s.key && c.field === field);
        expect(at('artist')?.text).toBe(s.artist);
        expect(at('title')?.text).toBe(s.title);
        for (const [field, digits] of [
          ['plays', 0],
          ['performances', 0],
          ['tlh', 2],
        ] as const) {
          expect(figureOf(at(field)), `${s.key} ${field}`).toBe(s[field]);
          expect(at(field)?.text, `${s.key} ${field}`).toBe(fmt(s[field], digits));
        }
        expect(at('tuneOutIndex')?.text, `${s.key} index`).toBe(indexText(s.tuneOutIndex));
      }
      // The downloads: the period, zone, streams and basis shown.
      const sx = await hrefParams('#sx-link');
      const csvTracks = await hrefParams('#tracks-csv-link');
      expect(new URL((await page.getAttribute('#sx-link', 'href')) ?? '', base).pathname).toBe(
        '/v1/soundexchange',
      );
      for (const [k, v] of tq) {
        expect(sx.get(k), `soundexchange ${k}`).toBe(v);
        expect(csvTracks.get(k), `plays csv ${k}`).toBe(v);
      }
      expect(sx.get('gross')).toBe(tq.get('gross'));
      expect(sx.get('category')).toBe('A');
      expect(csvTracks.get('format')).toBe('csv');
      expect(csvTracks.get('part')).toBe('plays');
      return tracks;
    };
    const tracks = await expectTracksOf(query);
    // Now playing: each station stream's latest track (old-stream's last play is over), with the
    // live listeners of that stream.
    const now = await cells('#now-playing');
    expect([...new Set(now.map((c) => c.row))]).toEqual(['main', 'main-mp3']);
    for (const [stream, track] of Object.entries(seeded.current)) {
      const at = (field: string) => now.find((c) => c.row === stream && c.field === field);
      expect(at('title')?.text).toBe(track.title);
      expect(at('artist')?.text).toBe(track.artist);
      expect(at('start')?.text).toBe(stamp(new Date(track.time).toISOString()));
      const listeners = liveApi.streams.find((s: { stream: string }) => s.stream === stream)?.listeners ?? 0;
      expect(Number(at('listeners')?.value), `${stream} listening now`).toBe(listeners);
      expect(at('listeners')?.text).toBe(fmt(listeners, 0));
      const play = tracks.plays.find((p) => p.id === track.id);
      expect(Date.parse(play?.end ?? '')).toBeGreaterThan(Date.now());
    }
    expect(tracks.plays.find((p) => p.id === 'old-1')).toBeDefined();
    // The SoundExchange link: the period shown, the service EARSHOT by default, then as typed.
    const sxDefault = await hrefParams('#sx-link');
    expect(sxDefault.get('from')).toBe(asked.get('from'));
    expect(sxDefault.get('to')).toBe(asked.get('to'));
    expect(sxDefault.get('service')).toBe('EARSHOT');
    await page.fill('#sx-service', 'WXYZ-FM');
    const sxTyped = await hrefParams('#sx-link');
    expect(sxTyped.get('service')).toBe('WXYZ-FM');
    expect(sxTyped.get('from')).toBe(asked.get('from'));
    // It downloads the TSV, with the token, under the API's file name.
    const sxHref = (await page.getAttribute('#sx-link', 'href')) ?? '';
    const sxRes = await fetch(`${base}${sxHref}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(sxRes.status).toBe(200);
    const sxName = /filename="([^"]+)"/.exec(sxRes.headers.get('content-disposition') ?? '')?.[1];
    expect(sxName).toMatch(/^WXYZFM\d{8}_\d{8}_A\.txt$/);
    const [sxDownload] = await Promise.all([page.waitForEvent('download'), page.click('#sx-link')]);
    expect(sxDownload.suggestedFilename()).toBe(sxName);
    await page.fill('#sx-service', 'EARSHOT');
    await page.locator('#tracks-section').scrollIntoViewIfNeeded();
    await page.locator('#tracks-section').screenshot({ path: '/tmp/earshot-dashboard-tracks.png' });

    // The CSV download's file name carries the config (period in local dates, zone, qualifier).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-link')]);
    expect(download.suggestedFilename()).toBe(
      `earshot-summary-${localDate(lastMinuteMs, -6)}_${localDate(lastMinuteMs, 1)}-America_New_York-aqh300s.csv`,
    );

    // A station and a daypart through the pickers.
    await page.selectOption('#scope', 'station:demo');
    await page.selectOption('#daypart', 'Mon-Sun 6a-12m');
    await show();
    const stationQuery: string = await page.evaluate(
      () => (window as unknown as { __earshot: { query: string } }).__earshot.query,
    );
    expect(stationQuery).toContain('station=demo');
    const stationReport = await api(`/v1/report?${stationQuery}&parts=summary`);
    const stationCells = await cells('#summary');
    expect(stationCells.filter((c) => c.field === 'aqh').map((c) => Number(c.value))).toEqual(
      stationReport.summary.map((s: { aqh: number }) => s.aqh),
    );

    await page.selectOption('#scope', '');
    await page.selectOption('#daypart', '');
    await show();
    expect(await shownQuery()).toBe(query);

    // The switch to gross: every call asks gross=true (the report, the dayparts, the breakdowns and
    // the CSV), the address keeps it, and the page shows the API's gross figures.
    await switchTo('gross');
    const grossQuery = await shownQuery();
    expect(new URLSearchParams(grossQuery).get('gross')).toBe('true');
    expect(new URL(page.url()).searchParams.get('gross')).toBe('true');
    expect(
      new URL((await page.getAttribute('#csv-link', 'href')) ?? '', base).searchParams.get('gross'),
    ).toBe('true');
    expect(
      await page.evaluate(
        () =>
          (window as unknown as { __earshot: { dayparts: { config: { basis: string } } } }).__earshot.dayparts
            .config.basis,
      ),
    ).toBe('gross');
    const grossReport = await api(`/v1/report?${grossQuery}&parts=summary`);
    const grossBreakdowns = await api(`/v1/breakdowns?${grossQuery}`);
    expect(grossReport.config.basis).toBe('gross');
    await expectSummaryOf(grossReport);
    await expectGroupsOf(grossBreakdowns.groups);
    // The tracks section asks gross too (its tables, the SoundExchange and plays CSV links).
    expect((await expectTracksOf(grossQuery)).config.basis).toBe('gross');
    // Gross counts the sessions net left out, and says of which class each is.
    const gross = (field: keyof SummaryRow) => sum(grossReport.summary.map((s: SummaryRow) => s[field]));
    const shownActive = (await cells('#summary')).filter((c) => c.field === 'activeSessions');
    expect(sum(shownActive.map((c) => Number(c.value)))).toBe(
      net('activeSessions') + net('excludedBot') + net('excludedRelay') + net('excludedMonitor'),
    );
    const classes = await cells('#group-class');
    for (const [group, field] of [
      ['bot', 'excludedBot'],
      ['relay', 'excludedRelay'],
      ['monitor', 'excludedMonitor'],
    ] as const) {
      expect(Number(classes.find((c) => c.row === group && c.field === 'activeSessions')?.value)).toBe(
        gross(field),
      );
    }
    const grossHist = await cells('#histogram');
    for (const bin of grossBreakdowns.histogram) {
      expect(Number(grossHist.find((c) => c.row === bin.label && c.field === 'sessions')?.value)).toBe(
        bin.sessions,
      );
    }
    // A reload keeps the basis; the switch back to net drops it from the address.
    await page.reload();
    await page.waitForSelector('body[data-generation="1"][data-ready="true"]', { timeout: 30_000 });
    expect(await page.isChecked('#basis-gross')).toBe(true);
    expect(await shownQuery()).toBe(grossQuery);
    await switchTo('net');
    expect(new URL(page.url()).searchParams.get('gross')).toBeNull();
    expect(await shownQuery()).toBe(query);
    await expectSummaryOf(report);
    await expectGroupsOf(breakdowns.groups);

    expect(errors).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    // The breakdown tables, for a person to look at (nothing is asserted on the pixels).
    await page.locator('#groups').scrollIntoViewIfNeeded();
    await page.screenshot({ path: '/tmp/earshot-dashboard-breakdowns.png', fullPage: true });
    await page.close();
  });
});
