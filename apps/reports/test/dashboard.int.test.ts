import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type ListenEvent, localTime } from '@earshot/core';
import type { Db } from '@earshot/db';
import { loadAndFinalize, openTestDb } from '@earshot/db/testing';
import { generateStation } from '@earshot/simulate';
import { serve } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { parseStations } from '../src/stations.js';

// Headless Chromium from Debian (never a downloaded browser): `apt-get install -y chromium`.
const CHROMIUM = process.env.EARSHOT_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
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
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
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
