import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ListenEvent } from '@earshot/core';
import { createCallbackSink } from '@earshot/logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccessLogCollector } from './collector.js';
import { importAccessLog } from './import-log.js';
import { createAccessLogMapper } from './to-events.js';

const text = Array.from(
  { length: 500 },
  (_, n) =>
    `127.0.0.1 - - [03/Dec/2026:06:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')} +0000] "GET /live.mp3 HTTP/1.1" 200 ${1000 + n} "-" "Lavf/59.27.100" ${n + 1}\n`,
).join('');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-import-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function imported(path: string): Promise<ListenEvent[]> {
  const events: ListenEvent[] = [];
  const counts = await importAccessLog({
    path,
    format: 'combined',
    mapper: createAccessLogMapper({}),
    onEvents: (batch) => void events.push(...batch),
  });
  expect(counts).toMatchObject({ lines: 500, events: 500, bad: 0 });
  return events;
}

describe('importAccessLog', () => {
  it('gives a gzipped copy the events, ids included, of the plain file and of the tailer', async () => {
    writeFileSync(join(dir, 'access.log'), text);
    writeFileSync(join(dir, 'access.log.gz'), gzipSync(text));
    const plain = await imported(join(dir, 'access.log'));
    const gzip = await imported(join(dir, 'access.log.gz'));
    expect(gzip).toEqual(plain);
    const tailed: ListenEvent[] = [];
    const collector = await createAccessLogCollector({
      files: [join(dir, 'access.log')],
      format: 'combined',
      createMapper: () => createAccessLogMapper({}),
      sink: createCallbackSink((e) => void tailed.push(e)),
      from: 'start',
    });
    await collector.poll();
    expect(tailed).toEqual(plain);
  });
});
