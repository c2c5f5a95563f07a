import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createDb, type Db } from '@earshot/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, makeEvents, spawnIngest, TOKEN } from './helpers.js';
import { type PrivatePostgres, startPrivatePostgres } from './private-postgres.js';

// The bound under test, small so that a short stall reaches it many times over. The events carry a
// 500-character user agent (about 700 bytes of JSON each, 140 KB a request), so the bytes bound is
// the one reached (after about 30 requests, 6000 events).
const QUEUE_MAX_EVENTS = 10_000;
const QUEUE_MAX_BYTES = 4 * 1024 * 1024;
const BATCH = 200;
const UA = `EarshotStallTest/1.0 ${'x'.repeat(479)}`;
/** Requests the load keeps open at most: without the bound, ingest would hold all of them (140 MB). */
const MAX_OUTSTANDING = 1_000;
const STALL_MS = 20_000;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

interface Answer {
  batch: number;
  status: number;
  retryAfter: string | null;
  error?: string;
  at: number;
}

describe('ingest under load while PostgreSQL is frozen (SIGSTOP)', () => {
  let pg: PrivatePostgres | undefined;
  let db: Db | undefined;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    db = await createDb({ url: pg.url, maxConnections: 2 });
  });

  afterAll(async () => {
    pg?.thaw();
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await db?.close().catch(() => {});
    pg?.close();
  });

  it('sheds load with 503 + Retry-After, keeps its memory flat, and stores every acknowledged event', async () => {
    const ingest = await spawnIngest(pg!.url, {
      EARSHOT_QUEUE_MAX_EVENTS: String(QUEUE_MAX_EVENTS),
      EARSHOT_QUEUE_MAX_BYTES: String(QUEUE_MAX_BYTES),
      // Longer than the stall: what waits for the frozen database is released by nothing but the
      // database, so only the queue bound keeps it from piling up.
      EARSHOT_COMMIT_TIMEOUT_MS: '60000',
    });
    child = ingest.child;
    const pid = child.pid!;
    const base = `http://127.0.0.1:${ingest.port}`;

    const answers: Answer[] = [];
    let outstanding = 0;
    let next = 0;
    let sending = true;
    const send = async (batch: number) => {
      outstanding++;
      try {
        const res = await fetch(`${base}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(
            makeEvents(BATCH, `st${batch}`, (i) => ({ session: `st-s${(batch + i) % 97}`, ua: UA })),
          ),
        });
        const body = (await res.json()) as { error?: string };
        answers.push({
          batch,
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          error: body.error,
          at: Date.now(),
        });
      } catch (error) {
        answers.push({ batch, status: 0, retryAfter: null, error: String(error), at: Date.now() });
      } finally {
        outstanding--;
      }
    };
    // Open loop: about 100 requests a second whether or not earlier ones were answered, as many
    // loggers would send, up to MAX_OUTSTANDING open at once.
    const inFlight = new Set<Promise<void>>();
    const load = (async () => {
      while (sending) {
        if (outstanding < MAX_OUTSTANDING) {
          const p = send(next++);
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
        }
        await sleep(10);
      }
    })();

    const samples: { at: number; rss: number }[] = [];
    const sampler = setInterval(() => samples.push({ at: Date.now(), rss: rssBytes(pid) }), 200);
    const peak = (from: number, to: number) =>
      Math.max(...samples.filter((s) => s.at >= from && s.at < to).map((s) => s.rss));

    try {
      // Warm up under load: the heap grows to its working size.
      const warmStart = Date.now();
      await sleep(6_000);
      const acceptedBefore = answers.filter((a) => a.status === 200).length;
      expect(acceptedBefore).toBeGreaterThan(0);
      const rssBefore = peak(warmStart + 2_000, Date.now());

      const stallStart = Date.now();
      const frozen = pg!.freeze();
      expect(frozen.length).toBeGreaterThan(1);
      await sleep(STALL_MS / 2);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { ok: boolean }).ok).toBe(false);
      await sleep(STALL_MS / 2);
      const stallEnd = Date.now();
      const rssDuring = peak(stallStart, stallEnd);
      pg!.thaw();

      // Let it drain: stop the load, wait for every open request's answer.
      sending = false;
      await load;
      await Promise.all([...inFlight]);
      await sleep(500);
      const rssAfter = rssBytes(pid);
      clearInterval(sampler);

      const during = answers.filter((a) => a.at >= stallStart + 1_000 && a.at < stallEnd);
      const shed = during.filter((a) => a.status === 503);
      const queueFull = shed.filter((a) => /queue is full/.test(a.error ?? ''));
      const acked = answers.filter((a) => a.status === 200).map((a) => a.batch);
      const ids = acked.flatMap((batch) => makeEvents(BATCH, `st${batch}`).map((e) => e.id!));
      const stored = await db!.query<{ n: number }>(
        'select count(*)::int as n from listen_events where id = any($1::text[])',
        [ids],
      );
      const storedAll = await db!.query<{ n: number }>('select count(*)::int as n from listen_events');
      const metrics = await (
        await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      const refusals = Number(/^earshot_ingest_queue_full_total (\d+)/m.exec(metrics)?.[1]);

      const summary = {
        requests: answers.length,
        statuses: Object.fromEntries(
          [...new Set(answers.map((a) => a.status))].map((s) => [
            s,
            answers.filter((a) => a.status === s).length,
          ]),
        ),
        rssBeforeMb: mb(rssBefore),
        rssDuringMb: mb(rssDuring),
        rssAfterMb: mb(rssAfter),
        answeredDuringStall: during.length,
        queueFullDuringStall: queueFull.length,
        queueFullTotal: refusals,
        ackedEvents: ids.length,
        storedOfAcked: stored[0]!.n,
        storedAll: storedAll[0]!.n,
        refusals: Object.fromEntries(
          [...new Set(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.error}`))].map(
            (k) => [k, answers.filter((a) => `${a.status} ${a.error}` === k).length],
          ),
        ),
      };
      console.log(`stall test: ${JSON.stringify(summary)}`);

      // Frozen means frozen: nothing was committed (answered 200) while PostgreSQL was stopped.
      expect(during.filter((a) => a.status === 200)).toEqual([]);
      // Beyond the bound, 503 at once with Retry-After, saying the queue is full; counted in /metrics.
      expect(queueFull.length).toBeGreaterThan(100);
      for (const a of shed) expect(a.retryAfter).toBe('2');
      expect(refusals).toBeGreaterThanOrEqual(queueFull.length);
      // Memory stays flat: over its working size under the same load before the stall, at most
      // what the bound lets it hold three times (the request bodies, their text and the parsed
      // events are each about that size) plus 48 MB of heap headroom (V8 grows its heap in steps
      // and collects when it likes). Without the bound it would hold every open request: about
      // MAX_OUTSTANDING x 140 KB, measured +139 MB over the stall.
      expect(rssDuring).toBeLessThan(rssBefore + 3 * QUEUE_MAX_BYTES + 48 * 1024 * 1024);
      // Nothing was lost: every acknowledged event is stored (the held requests committed after SIGCONT).
      expect(acked.length).toBeGreaterThan(acceptedBefore);
      expect(stored[0]!.n).toBe(ids.length);
      expect(answers.filter((a) => a.status === 0)).toEqual([]);
    } finally {
      clearInterval(sampler);
      sending = false;
      pg!.thaw();
    }

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  }, 90_000);
});
