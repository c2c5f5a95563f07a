/**
 * The dashboard as people wait for it: the real reports service (`src/main.ts`, its own process)
 * on the bench database, the page opened in headless Chromium (playwright-core, Debian's chromium)
 * for a view of the period, timed from navigation until the page marks itself drawn (`earshot:drawn`:
 * the first refresh's report, dayparts, breakdowns and tracks rendered, and a live snapshot shown,
 * after /v1/streams filled the pickers). Then each call the page makes, timed alone from Node.
 * Every figure is printed beside the bare count of the view's session_quarter_hours rows, measured
 * in the same run, as a ratio.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import type { Sql } from 'postgres';
import { launchChromium } from '../test/chromium.js';

const TOKEN = 'bench-dashboard-token-0123456789';
/** How long a page may take before the run fails (EARSHOT_BENCH_PAGE_TIMEOUT_MS). */
const PAGE_TIMEOUT_MS = Number(process.env.EARSHOT_BENCH_PAGE_TIMEOUT_MS ?? 120_000);
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The page's goal: every call of the view answered and drawn in under this, and within GOAL_RATIO of the count. */
const GOAL_MS = 1000;
const GOAL_RATIO = 2;

export interface DashboardView {
  label: string;
  /** Local dates of the pickers, `to` included (the page asks for `[from, to + 1 day)`). */
  from: string;
  to: string;
  /** First and last instant of the period (epoch ms), for the count baseline. */
  fromMs: number;
  toMs: number;
  daypart?: string | undefined;
}

export interface DashboardBenchOptions {
  databaseUrl: string;
  sql: Sql;
  tz: string;
  views: readonly DashboardView[];
  runs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the reports service as `pnpm start` would (from source through tsx), resolves when it answers. */
async function startService(
  databaseUrl: string,
  tz: string,
): Promise<{ base: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      EARSHOT_READ_TOKENS: TOKEN,
      EARSHOT_TZ: tz,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const exited = once(child, 'exit');
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the reports service exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error('the reports service did not start in 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    base,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The calls the page makes for a view, as it makes them (dashboard.js `refresh` and `start`). */
function pageCalls(view: DashboardView, tz: string): { label: string; path: string }[] {
  const next = new Date(`${view.to}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  const period = new URLSearchParams({ from: view.from, to: next.toISOString().slice(0, 10), tz });
  const withDaypart = new URLSearchParams(period);
  if (view.daypart) withDaypart.set('daypart', view.daypart);
  const report = new URLSearchParams(withDaypart);
  report.set('parts', 'summary,minutes,quarterHours');
  return [
    { label: 'streams', path: '/v1/streams' },
    { label: 'report', path: `/v1/report?${report}` },
    { label: 'dayparts', path: `/v1/dayparts?${period}` },
    { label: 'breakdowns', path: `/v1/breakdowns?${withDaypart}` },
    { label: 'tracks', path: `/v1/tracks?${period}` },
    { label: 'live', path: '/v1/live' },
  ];
}

/** Opens the page for a view in a fresh context (no cache); ms from navigation to `earshot:drawn`. */
async function timePage(browser: Browser, base: string, view: DashboardView, tz: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: tz });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const q = new URLSearchParams({ token: TOKEN, from: view.from, to: view.to, tz });
    if (view.daypart) q.set('daypart', view.daypart);
    await page.goto(`${base}/?${q}`);
    await page.waitForSelector('body[data-drawn="true"], body[data-failed]', { timeout: PAGE_TIMEOUT_MS });
    const failed = await page.getAttribute('body', 'data-failed');
    if (failed !== null || errors.length > 0)
      throw new Error(`the page failed: ${(await page.textContent('#status')) ?? ''} ${errors.join('; ')}`);
    const ms = await page.evaluate(() => performance.getEntriesByName('earshot:drawn')[0]!.startTime);
    return ms;
  } finally {
    await context.close();
  }
}

const fmt = (ms: number) => ms.toFixed(0).padStart(7);

/** Runs the dashboard benchmark; prints a table per view. Returns whether every goal was met. */
export async function benchDashboard(o: DashboardBenchOptions): Promise<boolean> {
  const service = await startService(o.databaseUrl, o.tz);
  const browser = await launchChromium();
  let met = true;
  try {
    const summary: string[] = [];
    for (const view of o.views) {
      const count = async () => {
        const t = performance.now();
        await o.sql`select count(*) from session_quarter_hours
          where quarter_hour >= ${new Date(view.fromMs).toISOString()}::timestamptz
            and quarter_hour < ${new Date(view.toMs).toISOString()}::timestamptz`;
        return performance.now() - t;
      };
      await count(); // warm
      const calls = pageCalls(view, o.tz);
      // One page load to warm the service and the caches, then the timed ones, each beside a count.
      await timePage(browser, service.base, view, o.tz);
      const pageMs: number[] = [];
      const countMs: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        countMs.push(await count());
        pageMs.push(await timePage(browser, service.base, view, o.tz));
        console.log(
          `  ${view.label}: page drawn in ${pageMs[i]!.toFixed(0)} ms (count ${countMs[i]!.toFixed(0)} ms)`,
        );
      }
      const callMs = new Map<string, number[]>();
      for (let i = 0; i < o.runs; i++) {
        for (const call of calls) {
          const t = performance.now();
          const res = await fetch(`${service.base}${call.path}`, {
            headers: { authorization: `Bearer ${TOKEN}` },
          });
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`${call.path}: ${res.status}`);
          const list = callMs.get(call.label) ?? [];
          list.push(performance.now() - t);
          callMs.set(call.label, list);
        }
        countMs.push(await count());
      }
      const baseline = median(countMs);
      const page = median(pageMs);
      const ok = page < GOAL_MS && page / baseline <= GOAL_RATIO;
      met &&= ok;
      console.log(
        `\ndashboard, ${view.label} (${view.from} to ${view.to}${view.daypart ? `, ${view.daypart}` : ''}), median of ${o.runs} (ms)`,
      );
      console.log(
        `${"baseline: count(*) of the period's session_quarter_hours".padEnd(60)} ${fmt(baseline)}   (${countMs.map((x) => x.toFixed(0)).join(', ')})`,
      );
      console.log(
        `${'page in Chromium, navigation to drawn (all calls)'.padEnd(60)} ${fmt(page)}   ${(page / baseline).toFixed(2)}x   (${pageMs.map((x) => x.toFixed(0)).join(', ')})   goal < ${GOAL_MS} ms and <= ${GOAL_RATIO}x: ${ok ? 'met' : 'NOT met'}`,
      );
      let sum = 0;
      for (const call of calls) {
        const ms = median(callMs.get(call.label)!);
        sum += ms;
        console.log(
          `${`  GET /v1/${call.label} alone`.padEnd(60)} ${fmt(ms)}   ${(ms / baseline).toFixed(2)}x   (${callMs
            .get(call.label)!
            .map((x) => x.toFixed(0))
            .join(', ')})`,
        );
      }
      console.log(
        `${'  the calls one after another'.padEnd(60)} ${fmt(sum)}   ${(sum / baseline).toFixed(2)}x`,
      );
      summary.push(
        `${view.label}: page ${page.toFixed(0)} ms, count ${baseline.toFixed(0)} ms, ${(page / baseline).toFixed(2)}x: ${ok ? 'met' : 'NOT met'}`,
      );
    }
    console.log(
      `\ndashboard goals (< ${GOAL_MS} ms and <= ${GOAL_RATIO}x the count):\n  ${summary.join('\n  ')}`,
    );
  } finally {
    await browser.close();
    await service.stop();
  }
  return met;
}
