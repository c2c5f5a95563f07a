import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenEvent } from '@earshot/core';
import { createCallbackSink } from '@earshot/logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccessLogCollector } from './collector.js';
import { createAccessLogMapper } from './to-events.js';

// Icecast access-log lines: one event each, no playlists needed.
const line = (n: number) =>
  `127.0.0.1 - - [03/Dec/2026:06:15:${String(n % 60).padStart(2, '0')} +0000] "GET /live.mp3 HTTP/1.1" 200 ${1000 + n} "-" "Lavf/59.27.100" ${n + 1}\n`;

let dir: string;
let log: string;
let state: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-tail-'));
  log = join(dir, 'access.log');
  state = join(dir, 'state.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function collector(events: ListenEvent[]) {
  return createAccessLogCollector({
    files: [log],
    format: 'combined',
    createMapper: (ledger) => createAccessLogMapper({ ...(ledger ? { ledger } : {}) }),
    sink: createCallbackSink((e) => void events.push(e)),
    stateFile: state,
    from: 'start',
  });
}

describe('createAccessLogCollector', () => {
  it('goes on where it stopped after a restart, through a rename and a truncation, never twice', async () => {
    writeFileSync(log, line(0) + line(1));
    const events: ListenEvent[] = [];
    const first = await collector(events);
    await first.poll();
    expect(events).toHaveLength(2);
    // A half-written line waits for its line break.
    appendFileSync(log, line(2) + line(3).slice(0, 20));
    await first.poll();
    expect(events).toHaveLength(3);
    appendFileSync(log, line(3).slice(20));

    // A new process from the state file (as after kill -9): the rest, nothing again.
    const second = await collector(events);
    await second.poll();
    expect(events).toHaveLength(4);
    appendFileSync(log, line(4));
    renameSync(log, `${log}.1`);
    writeFileSync(log, line(5));
    await second.poll();
    expect(events.map((e) => e.duration)).toEqual([1, 2, 3, 4, 5, 6]);

    // Truncated in place (copytruncate): read again from the start.
    truncateSync(log, 0);
    writeFileSync(log, line(6));
    await second.poll();
    expect(events.map((e) => e.duration)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(events.map((e) => e.id)).size).toBe(7);
  });

  it('gives a line the same id whatever process reads it', async () => {
    writeFileSync(log, line(0) + line(1));
    const a: ListenEvent[] = [];
    await (await collector(a)).poll();
    rmSync(state);
    const b: ListenEvent[] = [];
    await (await collector(b)).poll();
    expect(b.map((e) => e.id)).toEqual(a.map((e) => e.id));
    expect(a[0]?.session).toBe(`icecast-${a[0]?.id}`);
  });
});
