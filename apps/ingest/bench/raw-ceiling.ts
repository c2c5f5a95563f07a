// The physical baseline of the benchmarks that write listen events: PostgreSQL's own insert speed
// into `listen_events`, measured by a bare client (no Earshot code), 500-row batches, each batch
// committed. The ingest bench and the worker's capacity bench print their figures against it.
import net from 'node:net';
import postgres from 'postgres';

/** Rows per batch of the raw runs (ingest's logger batch). */
export const RAW_BATCH = 500;

/** The ceiling's events are at a fixed date: make sure of its day partition before a raw run. */
export const RAW_DAY0 = Date.UTC(2026, 10, 2);

// --- events: the same shape everywhere (about 230 bytes of JSON each) ------------------------
let seq = 0;
const UA = 'VLC/3.0.18 LibVLC/3.0.18';

/** The next event of the benchmark stream: 40,000 session ids, 30 s Shoutcast ticks, at RAW_DAY0. */
export function nextEvent() {
  const n = seq++;
  return {
    id: `0193a1b2-${n.toString(16).padStart(4, '0')}-7c3d-8e4f-${(n * 2654435761).toString(16).padStart(12, '0').slice(-12)}`,
    session: `sess-${(n % 40_000).toString(36).padStart(6, '0')}`,
    stream: 'rock-128',
    output: 'shoutcast' as const,
    time: RAW_DAY0 + ((n * 37) % 80_000_000),
    duration: 30,
    bytes: 480_000,
    listener: `${(n % 40_000).toString(16).padStart(32, 'a')}`,
    ua: UA,
  };
}

export const nextBatch = (size: number) => Array.from({ length: size }, nextEvent);

/** A bare postgres.js client with the TCP_NODELAY fix from STACK.md, as in @earshot/db. */
export function rawClient(url: string, max: number): postgres.Sql {
  const u = new URL(url);
  return postgres(url, {
    max,
    onnotice: () => {},
    ...({
      socket: () => net.connect({ host: u.hostname, port: Number(u.port || 5432), noDelay: true }),
    } as object),
  });
}

const COLUMNS = 'id, session, stream, output, time, duration_ms, bytes, listener, ua';
const copyLine = (e: ReturnType<typeof nextEvent>) =>
  `${e.id}\t${e.session}\t${e.stream}\t${e.output}\t${new Date(e.time).toISOString()}\t${e.duration * 1000}\t${e.bytes}\t${e.listener}\t${e.ua}\n`;

/** Writes `batches` batches of RAW_BATCH rows, `concurrency` at once, by COPY or unnest; rows/s. */
export async function rawRun(
  sql: postgres.Sql,
  method: 'copy' | 'unnest',
  concurrency: number,
  batches: number,
): Promise<number> {
  let left = batches;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const events = nextBatch(RAW_BATCH);
        if (method === 'copy') {
          const stream = await sql.unsafe(`copy listen_events (${COLUMNS}) from stdin`).writable();
          await new Promise<void>((resolve, reject) => {
            stream.once('error', reject);
            stream.once('finish', resolve);
            stream.end(events.map(copyLine).join(''));
          });
        } else {
          await sql.unsafe(
            `insert into listen_events (${COLUMNS}) select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]::timestamptz[], $6::int[], $7::bigint[], $8::text[], $9::text[])`,
            [
              events.map((e) => e.id),
              events.map((e) => e.session),
              events.map((e) => e.stream),
              events.map((e) => e.output),
              events.map((e) => new Date(e.time).toISOString()),
              events.map((e) => e.duration * 1000),
              events.map((e) => e.bytes),
              events.map((e) => e.listener),
              events.map((e) => e.ua),
            ] as never[],
          );
        }
      }
    }),
  );
  return (batches * RAW_BATCH) / ((performance.now() - started) / 1000);
}
