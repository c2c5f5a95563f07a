import { createAudienceOf, NO_AGENT_RULES } from '@earshot/audience';
import { createRandom } from '@earshot/simulate';
import type { Sql } from 'postgres';

/**
 * Writes the rows the worker would write for a large station straight into the tables (COPY), so
 * the report can be timed on a month of data without a month of ingest: `sessions`,
 * `session_quarter_hours` (with `prev_quarter_hour`, `continues`), `stream_minutes`,
 * `stream_quarter_hours`, `short_sessions`. Deterministic (seeded). Each listener keeps one user
 * agent and one country (DESIGN: the key is a salted hash of IP + user agent); device, OS and player
 * are parsed from the user agent as the worker would (`@earshot/audience`).
 */
export interface StationRowsOptions {
  startMs: number;
  days: number;
  /** Counted sessions in all. */
  sessions: number;
  /** Distinct listeners the sessions are drawn from. */
  audience: number;
  /** Share of sessions without a listener key. */
  anonymousShare?: number;
  /** Tune-outs (short sessions) per counted session. */
  shortPerSession?: number;
  /** Local-time offset of the station in hours, for the daily curve (e.g. -4 for New York in October). */
  utcOffsetH: number;
  onProgress?: (done: number) => void;
}

const STREAMS = [
  { key: 'main-mp3', output: 'shoutcast', share: 0.4, kbps: 128 },
  { key: 'main', output: 'hls', share: 0.35, kbps: 96 },
  { key: 'talk-mp3', output: 'shoutcast', share: 0.15, kbps: 64 },
  { key: 'talk', output: 'hls', share: 0.1, kbps: 64 },
] as const;

const USER_AGENTS = [
  'VLC/3.0.21 LibVLC/3.0.21',
  'AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'ExoPlayerLib/2.19.1',
  'Sonos/80.1-55140 (ZPS23)',
];

// Where listeners are, most in the station's country (a listener key is a hash of IP + user agent,
// so a listener has one country and one user agent; anonymous sessions draw both at random).
const COUNTRIES = [
  'US',
  'US',
  'US',
  'US',
  'US',
  'US',
  'CA',
  'CA',
  'GB',
  'DE',
  'MX',
  'BR',
  'FR',
  'IN',
  'AU',
  '',
];

// Relative arrivals per local hour: the radio day (drive times busiest, nights quiet).
const HOURLY = [
  0.8, 0.5, 0.4, 0.4, 0.6, 1.5, 3.5, 5, 5.2, 4.2, 3.6, 3.4, 3.5, 3.4, 3.5, 4, 4.6, 4.8, 4.2, 3.4, 2.8, 2.3,
  1.7, 1.2,
];

function hex(n: number, seed: number): string {
  let h = (n * 2654435761 + seed) >>> 0;
  let out = '';
  for (let i = 0; i < 4; i++) {
    h = Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();

class CopyWriter {
  private buffer: string[] = [];
  private size = 0;
  private failure: Error | undefined;
  private readonly stream: NodeJS.WritableStream;
  private constructor(stream: NodeJS.WritableStream) {
    this.stream = stream;
    stream.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  static async open(sql: Sql, statement: string): Promise<CopyWriter> {
    return new CopyWriter(await sql.unsafe(statement).writable());
  }

  async line(text: string): Promise<void> {
    this.buffer.push(text);
    this.size += text.length;
    if (this.size > 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.buffer.length === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await new Promise((resolve) => this.stream.once('drain', resolve));
  }

  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.once('finish', resolve);
      this.stream.end();
    });
  }
}

/** Generates and COPYs the rows; returns counts. Indexes should be dropped first for speed. */
export async function writeStationRows(
  sql: Sql,
  o: StationRowsOptions,
): Promise<{ sessions: number; quarterHours: number; minutes: number; short: number }> {
  const random = createRandom(20261128).next;
  const describe = createAudienceOf(NO_AGENT_RULES);
  const clients = new Map<string, ReturnType<typeof describe>>();
  const minutesPerDay = 1440;
  const totalMinutes = o.days * minutesPerDay;
  const minuteMs = STREAMS.map(() => new Float64Array(totalMinutes + 24 * 60 * 2));
  const minuteSessions = STREAMS.map(() => new Int32Array(totalMinutes + 24 * 60 * 2));
  const hourTotal = HOURLY.reduce((a, b) => a + b, 0);
  const perHour = HOURLY.map((w) => (w / hourTotal) * (o.sessions / o.days));

  const sessionsCopy = await CopyWriter.open(
    sql,
    // first_time: the synthetic rows' first event is taken at their start (reports never read it).
    'copy sessions (session, start, first_time, stream, output, "end", elapsed_ms, duration_ms, bytes, listener, ua, first_minute, minute_ms, country, device, os, player) from stdin',
  );
  const qhCopy = await CopyWriter.open(
    sql,
    'copy session_quarter_hours (session, session_start, stream, quarter_hour, ms, listener, prev_quarter_hour, continues) from stdin',
  );
  // The rollup per stream and QH (stream_quarter_hours), as the worker would maintain it.
  const qhCount = o.days * 96 + 200;
  const roll = STREAMS.map(() => ({
    ms: new Float64Array(qhCount),
    sessions: new Int32Array(qhCount),
    continuing: new Int32Array(qhCount),
    starts: new Int32Array(qhCount),
    qualified: new Int32Array(qhCount * 15),
  }));
  const qhIndex = (q: number) => (q - o.startMs) / 900_000;
  const shortCopy = await CopyWriter.open(
    sql,
    'copy short_sessions (session, start, first_time, stream, duration_ms) from stdin',
  );

  let n = 0;
  let qhRows = 0;
  let shortRows = 0;
  const shortShare = o.shortPerSession ?? 0.14;
  const anonymous = o.anonymousShare ?? 0.05;
  for (let day = 0; day < o.days; day++) {
    for (let h = 0; h < 24; h++) {
      // Local hour h of day `day` in UTC.
      const hourStart = o.startMs + day * 86_400_000 + h * 3_600_000;
      const count = Math.round(perHour[(((h + 24) % 24) + 24) % 24]! * (0.9 + 0.2 * random()));
      for (let i = 0; i < count && n < o.sessions; i++) {
        const a = hourStart + Math.floor(random() * 3_600_000);
        const r = random();
        let stream = 0;
        for (let acc = STREAMS[0]!.share; r > acc && stream < STREAMS.length - 1; )
          acc += STREAMS[++stream]!.share;
        const spec = STREAMS[stream]!;
        const id = `${hex(n, 7).slice(0, 8)}-${hex(n, 7).slice(8, 12)}-7${hex(n, 7).slice(13, 16)}-8${hex(n, 7).slice(17, 20)}-${hex(n, 7).slice(20, 32)}`;
        if (random() < shortShare) {
          const d = 5_000 + Math.floor(random() * 50_000);
          await shortCopy.line(`s${id}\t${iso(a + d)}\t${iso(a + d)}\t${spec.key}\t${d}\n`);
          shortRows++;
        }
        // Listening: 5 % all-day listeners (2-8 h), the rest log-normal around 20 minutes.
        let durationMs: number;
        if (random() < 0.05) durationMs = Math.floor((2 + 6 * random()) * 3_600_000);
        else {
          const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
          durationMs = Math.floor(1_200_000 * Math.exp(z));
        }
        durationMs = Math.min(Math.max(durationMs, 60_000), 86_000_000);
        const b = a + durationMs;
        const start = a + Math.min(30_000, durationMs);
        const listenerIndex = Math.floor(o.audience * random() ** 2);
        const listener = random() < anonymous ? null : hex(listenerIndex, 99);
        const uaRandom = random();
        const who = listener === null ? Math.floor(random() * 1_000_003) : listenerIndex;
        const ua =
          listener === null
            ? USER_AGENTS[Math.floor(uaRandom * USER_AGENTS.length)]!
            : USER_AGENTS[who % USER_AGENTS.length]!;
        const country = COUNTRIES[Math.floor(who / USER_AGENTS.length) % COUNTRIES.length]!;
        let client = clients.get(ua);
        if (!client) {
          client = describe({ ua, origin: null });
          clients.set(ua, client);
        }
        // Per-minute and per-QH placement of [a, b).
        const firstMinute = Math.floor(a / 60_000) * 60_000;
        const minutes: number[] = [];
        for (let m = firstMinute; m < b; m += 60_000) {
          const ms = Math.min(b, m + 60_000) - Math.max(a, m);
          minutes.push(ms);
          const index = (m - o.startMs) / 60_000;
          if (index >= 0 && index < minuteMs[stream]!.length) {
            minuteMs[stream]![index]! += ms;
            minuteSessions[stream]![index]! += 1;
          }
        }
        await sessionsCopy.line(
          `${id}\t${iso(start)}\t${iso(start)}\t${spec.key}\t${spec.output}\t${iso(b)}\t${b - start}\t${durationMs}\t${Math.round((durationMs / 1000) * spec.kbps * 125)}\t${listener ?? '\\N'}\t${ua}\t${iso(firstMinute)}\t{${minutes.join(',')}}\t${country || '\\N'}\t${client.device}\t${client.os}\t${client.player}\n`,
        );
        const rs = roll[stream]!;
        const startIndex = qhIndex(Math.floor(start / 900_000) * 900_000);
        if (startIndex >= 0 && startIndex < qhCount) rs.starts[startIndex]! += 1;
        let prev: number | undefined;
        for (let q = Math.floor(a / 900_000) * 900_000; q < b; q += 900_000) {
          const ms = Math.min(b, q + 900_000) - Math.max(a, q);
          const continues = prev === q - 900_000;
          await qhCopy.line(
            `${id}\t${iso(start)}\t${spec.key}\t${iso(q)}\t${ms}\t${listener ?? '\\N'}\t${prev === undefined ? '\\N' : iso(prev)}\t${continues ? 't' : 'f'}\n`,
          );
          const i = qhIndex(q);
          if (i >= 0 && i < qhCount) {
            rs.ms[i]! += ms;
            rs.sessions[i]! += 1;
            if (continues) rs.continuing[i]! += 1;
            for (let k = 1; k <= 15 && ms >= k * 60_000; k++) rs.qualified[i * 15 + k - 1]! += 1;
          }
          prev = q;
          qhRows++;
        }
        n++;
        if (n % 100_000 === 0) o.onProgress?.(n);
      }
    }
  }
  await Promise.all([sessionsCopy.end(), qhCopy.end(), shortCopy.end()]);

  const minuteCopy = await CopyWriter.open(
    sql,
    'copy stream_minutes (stream, minute, ms, sessions) from stdin',
  );
  let minuteRows = 0;
  for (let s = 0; s < STREAMS.length; s++) {
    for (let i = 0; i < minuteMs[s]!.length; i++) {
      if (minuteSessions[s]![i]! === 0) continue;
      await minuteCopy.line(
        `${STREAMS[s]!.key}\t${iso(o.startMs + i * 60_000)}\t${minuteMs[s]![i]}\t${minuteSessions[s]![i]}\n`,
      );
      minuteRows++;
    }
  }
  await minuteCopy.end();
  {
    const rollCopy = await CopyWriter.open(
      sql,
      'copy stream_quarter_hours (stream, quarter_hour, ms, sessions, continuing, starts, qualified) from stdin',
    );
    for (let s = 0; s < STREAMS.length; s++) {
      const rs = roll[s]!;
      for (let i = 0; i < qhCount; i++) {
        if (rs.sessions[i] === 0 && rs.starts[i] === 0) continue;
        const q = Array.from(rs.qualified.subarray(i * 15, i * 15 + 15)).join(',');
        await rollCopy.line(
          `${STREAMS[s]!.key}\t${iso(o.startMs + i * 900_000)}\t${rs.ms[i]}\t${rs.sessions[i]}\t${rs.continuing[i]}\t${rs.starts[i]}\t{${q}}\n`,
        );
      }
    }
    await rollCopy.end();
  }
  return { sessions: n, quarterHours: qhRows, minutes: minuteRows, short: shortRows };
}
