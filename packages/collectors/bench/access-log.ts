// Benchmark of the access-log collector on a generated nginx log (the earshot log_format) of HLS
// traffic: 1 GB by default (EARSHOT_BENCH_MB). Measures, on the same file: `wc -l` (the floor:
// reading and counting lines), the one-shot import (parse, map, ids; events handed to a no-op),
// and the tailing collector (readNewLines slices, a sink that acknowledges at once). Prints a
// table with lines/s, events/s, the ratio to `wc -l`, and the peak RSS. A measurement, not a test.
//
//   pnpm --filter @earshot/collectors bench
//   EARSHOT_BENCH_MB=200 pnpm --filter @earshot/collectors bench
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenEvent } from '@earshot/core';
import type { EventSink } from '@earshot/logger';
import { createAccessLogCollector } from '../src/access-log/collector.js';
import { createHlsCatalog } from '../src/access-log/hls-catalog.js';
import { importAccessLog } from '../src/access-log/import-log.js';
import { createAccessLogMapper } from '../src/access-log/to-events.js';

const MB = Number(process.env.EARSHOT_BENCH_MB ?? 1024);
const SEGMENTS = 2000;
const dir = mkdtempSync(join(tmpdir(), 'earshot-bench-access-log-'));
const docroot = join(dir, 'www');
const log = join(dir, 'access.log');

function fixture(): void {
  mkdirSync(join(docroot, 'hls', '32k'), { recursive: true });
  mkdirSync(join(docroot, 'hls', '64k'), { recursive: true });
  writeFileSync(
    join(docroot, 'hls', 'live.m3u8'),
    '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=35200\n32k/live.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=70400\n64k/live.m3u8\n',
  );
  for (const v of ['32k', '64k']) {
    const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0'];
    for (let i = 0; i < SEGMENTS; i++)
      lines.push(`#EXTINF:${i % 3 ? '1.996922' : '2.020133'},`, `seg${i}.ts`);
    writeFileSync(join(docroot, 'hls', v, 'live.m3u8'), `${lines.join('\n')}\n`);
  }
}

// A station's HLS traffic: each listener a master request, then a variant playlist and a segment
// every 2 s; some without session ids (the salted fallback), a few cut short.
async function generate(): Promise<number> {
  const out = createWriteStream(log, { highWaterMark: 4 * 1024 * 1024 });
  const target = MB * 1024 * 1024;
  let written = 0;
  let lines = 0;
  let t = 1_796_279_741_915;
  let chunk: string[] = [];
  const uas = [
    'Lavf/59.27.100',
    'libmpv',
    'AppleCoreMedia/1.0.0.21A329 (iPhone; U; CPU OS 17_0 like Mac OS X)',
  ];
  for (let listener = 0; written < target; listener++) {
    const session = listener % 4 === 0 ? '' : `s${listener.toString(16).padStart(12, '0')}`;
    const q = session ? `?session_id=${session}` : '';
    const ip = `10.${(listener >> 16) & 255}.${(listener >> 8) & 255}.${listener & 255}`;
    const ua = uas[listener % uas.length];
    const v = listener % 2 ? '64k' : '32k';
    const size = v === '64k' ? 18_048 : 10_152;
    const first = listener % (SEGMENTS - 100);
    chunk.push(
      `${(t / 1000).toFixed(3)} ${ip} "GET /hls/live.m3u8${q} HTTP/1.1" 200 260 0.000 "OK" "-" "-" "-" "${session || '-'}" "${ua}"\n`,
    );
    for (let s = 0; s < 60; s++) {
      t += 37;
      const cut = s === 59 && listener % 10 === 0;
      const bytes = cut ? size >> 1 : size;
      chunk.push(
        `${(t / 1000).toFixed(3)} ${ip} "GET /hls/${v}/live.m3u8${q} HTTP/1.1" 200 2998 0.000 "OK" "-" "-" "-" "${session || '-'}" "${ua}"\n`,
        `${(t / 1000).toFixed(3)} ${ip} "GET /hls/${v}/seg${first + s}.ts${q} HTTP/1.1" 206 ${bytes} 0.001 "${cut ? '' : 'OK'}" "${size}" "bytes 0-${size - 1}/${size}" "-" "${session || '-'}" "${ua}"\n`,
      );
    }
    lines += 121;
    if (chunk.length >= 2000) {
      const text = chunk.join('');
      written += Buffer.byteLength(text);
      chunk = [];
      if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  const text = chunk.join('');
  out.write(text);
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return lines;
}

function mapper() {
  const catalog = createHlsCatalog({
    groups: [{ path: '/hls/live.m3u8', key: 'live' }],
    source: { docroot },
  });
  return createAccessLogMapper({ catalog, salt: 'bench-salt' });
}

function peakRss() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

const ackSink = (): EventSink & { count: number } => {
  const sink = {
    count: 0,
    push(_event: ListenEvent) {
      sink.count++;
    },
    flush: async () => {},
    close: async () => ({ sent: sink.count, dropped: 0, retried: 0, failed: 0, buffered: 0 }),
    stats: () => ({ sent: sink.count, dropped: 0, retried: 0, failed: 0, buffered: 0 }),
  };
  return sink;
};

async function main() {
  fixture();
  const genStart = performance.now();
  const generated = await generate();
  const bytes = statSync(log).size;
  console.error(
    `generated ${(bytes / 1024 / 1024).toFixed(0)} MB, ${generated} lines in ${((performance.now() - genStart) / 1000).toFixed(1)} s`,
  );

  const wcStart = performance.now();
  const wcLines = Number(execFileSync('wc', ['-l', log], { encoding: 'utf8' }).trim().split(/\s+/)[0]);
  const wcS = (performance.now() - wcStart) / 1000;

  const rows: { run: string; seconds: number; lines: number; events: number; rssMb: number }[] = [];
  rows.push({ run: 'wc -l (floor)', seconds: wcS, lines: wcLines, events: 0, rssMb: Number.NaN });

  {
    const rss = peakRss();
    const started = performance.now();
    let events = 0;
    const counts = await importAccessLog({
      path: log,
      format: 'nginx',
      mapper: mapper(),
      onEvents: (batch) => {
        events += batch.length;
      },
    });
    rows.push({
      run: 'import (parse, map, ids)',
      seconds: (performance.now() - started) / 1000,
      lines: counts.lines,
      events,
      rssMb: rss.stop() / 1024 / 1024,
    });
  }
  {
    const rss = peakRss();
    const started = performance.now();
    const sink = ackSink();
    const collector = await createAccessLogCollector({
      files: [log],
      format: 'nginx',
      createMapper: () => mapper(),
      sink,
      stateFile: join(dir, 'state.json'),
      from: 'start',
    });
    while ((await collector.poll()) > 0) {
      // until the whole file is read
    }
    rows.push({
      run: 'collect (tail slices, state saves)',
      seconds: (performance.now() - started) / 1000,
      lines: collector.counts().lines,
      events: sink.count,
      rssMb: rss.stop() / 1024 / 1024,
    });
  }

  console.log(
    `access log: ${(bytes / 1024 / 1024).toFixed(0)} MB, ${wcLines} lines (node ${process.version})`,
  );
  console.log('| run | seconds | lines/s | events/s | x wc -l time | peak RSS MB |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.run} | ${r.seconds.toFixed(2)} | ${Math.round(r.lines / r.seconds)} | ${r.events ? Math.round(r.events / r.seconds) : '-'} | ${(r.seconds / wcS).toFixed(1)} | ${Number.isNaN(r.rssMb) ? '-' : r.rssMb.toFixed(0)} |`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

await main().catch((error) => {
  rmSync(dir, { recursive: true, force: true });
  throw error;
});
