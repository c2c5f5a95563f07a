import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Db } from '@earshot/db';
import { generateStation } from '@earshot/simulate';
import { serve } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { parseStations } from '../src/stations.js';
import { loadAndFinalize, openTestDb } from './helpers.js';

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

type Cell = { row: string; field: string; value: string; text: string };

describe('dashboard in headless Chromium', () => {
  let db: Db;
  let dispose: () => Promise<void>;
  let browser: Browser;
  let server: ReturnType<typeof serve>;
  let reports: ReturnType<typeof createApp>;
  let base: string;

  beforeAll(async () => {
    ({ db, dispose } = await openTestDb('postgres'));
    // Four hours of a small station around now, so that "listening now" has something to show.
    // It runs 10 minutes past now, so a slow load still leaves listening in the last minute.
    const end = Math.floor(Date.now() / 60_000) * 60_000 + 10 * 60_000;
    const events = generateStation({
      seed: 'dashboard',
      start: end - 4 * 3_600_000,
      hours: 4,
      listeners: 25,
      tz: TZ,
      userAgents: true,
    });
    await loadAndFinalize(db, events);
    const stations = parseStations({
      stations: [{ key: 'demo', name: 'Demo FM', tz: TZ, streams: ['main', 'main-mp3'] }],
    });
    reports = createApp({
      db,
      tokens: [TOKEN],
      stations,
      defaults: { idleS: 300, minSessionS: 60, maxSessionS: 86_400, aqhQualifierS: 300, tz: TZ },
      liveRefreshMs: 1000,
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
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/?token=${TOKEN}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    await page.waitForSelector('#live tbody tr', { timeout: 30_000 });
    // The token left the address bar for localStorage.
    expect(new URL(page.url()).searchParams.get('token')).toBeNull();

    const cells = (table: string) =>
      page.$$eval(`${table} td[data-field]`, (tds) =>
        tds.map((td) => ({
          row: td.getAttribute('data-row') ?? '',
          field: td.getAttribute('data-field') ?? '',
          value: td.getAttribute('data-value') ?? '',
          text: td.textContent ?? '',
        })),
      ) as Promise<Cell[]>;
    const query: string = await page.evaluate(
      () => (window as unknown as { __earshot: { query: string } }).__earshot.query,
    );

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
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(charts.minutes).toBeCloseTo(sum(report.minutes.map((m: { listeners: number }) => m.listeners)), 6);
    expect(charts.quarterHours).toBe(sum(report.quarterHours.map((q: { qualified: number }) => q.qualified)));
    expect(charts.bars).toEqual(breakdowns.histogram.map((b: { sessions: number }) => b.sessions));
    expect(charts.points).toBe(new Set(report.minutes.map((m: { minute: string }) => m.minute)).size);

    // Listening now: the live table shows a snapshot of /v1/live (the same cache).
    const live = await cells('#live');
    const total = live.find((c) => c.row === 'total');
    expect(Number(total?.value)).toBeGreaterThan(0);

    // A station and a daypart through the pickers.
    await page.selectOption('#scope', 'station:demo');
    await page.selectOption('#daypart', 'Mon-Sun 6a-12m');
    await page.evaluate(() => {
      document.body.dataset.ready = 'false';
    });
    await page.click('#pickers button[type="submit"]');
    await page.waitForSelector('body[data-ready="true"]');
    const stationQuery: string = await page.evaluate(
      () => (window as unknown as { __earshot: { query: string } }).__earshot.query,
    );
    expect(stationQuery).toContain('station=demo');
    const stationReport = await api(`/v1/report?${stationQuery}&parts=summary`);
    const stationCells = await cells('#summary');
    expect(stationCells.filter((c) => c.field === 'aqh').map((c) => Number(c.value))).toEqual(
      stationReport.summary.map((s: { aqh: number }) => s.aqh),
    );

    expect(errors).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.selectOption('#scope', '');
    await page.selectOption('#daypart', '');
    await page.click('#pickers button[type="submit"]');
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    await page.close();
  });
});
