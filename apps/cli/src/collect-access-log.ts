import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import {
  ACCESS_LOG_FORMATS,
  type AccessLogFormat,
  type AccessLogMapper,
  createAccessLogCollector,
  createAccessLogMapper,
  createHlsCatalog,
  type HlsGroup,
  importAccessLog,
  parseMountKey,
} from '@earshot/collectors';
import type { ListenEvent } from '@earshot/core';
import { createHttpSink, type EventSink } from '@earshot/logger';
import { jsonLogger } from './collect-run.js';
import type { Env } from './env.js';
import { UsageError } from './errors.js';

const SHARED_OPTIONS = `  --format F            nginx (the earshot log_format of packages/collectors/nginx/earshot.conf),
                        json (its earshot_json twin) or combined (NCSA combined; Icecast's access log)
  --hls PATH=KEY        a master playlist's URL path and its group key, e.g. /hls/live.m3u8=live
                        (repeatable). Its variants are keyed KEY-<directory> (/hls/32k/... -> live-32k)
  --variant PATH=KEY    another key for a variant playlist (its URL path), e.g. /hls/32k/live.m3u8=live-lo
  --docroot DIR         where the playlists and segments are on disk (nginx root): #EXTINF and sizes
  --origin URL          or: read the playlists over HTTP from this base URL
  --segment-duration S  seconds credited for a segment no playlist lists any more (old logs); default:
                        such segments are skipped and counted as unknown
  --mount MOUNT[=KEY]   continuous-stream mounts to count in an Icecast access log (repeatable;
                        default: every mount, /live.mp3 keyed live-mp3)`;

export const COLLECT_ACCESS_LOG_HELP = `Usage: earshot collect access-log --format nginx|combined|json [options] FILE ...

Tails web-server access logs and sends their listen events to ingest, as @earshot/logger would
make them: an HLS master playlist request is a zero-duration event under the group key, a segment
its #EXTINF seconds (pro rata when cut short) and bytes under the variant's key; an Icecast access
log line is one event per connection (seconds connected, bytes sent). The session is the
X-Playback-Session-Id header or the session_id parameter when logged, else a salted hash of IP +
user agent + group (EARSHOT_LISTENER_SALT; less exact: see the README). Follows rotation (rename or
truncation); with --state, a restart goes on where the last acknowledged line ended. Runs until
SIGINT/SIGTERM.

Options:
${SHARED_OPTIONS}
  --state FILE          state file (positions, segment ledger): needed to lose and double nothing
  --from-start          read a file seen for the first time from its start (default: its end)
  --ingest-url URL      ingest (env EARSHOT_INGEST_URL)
  --once                read what is there, deliver it, exit

Environment: EARSHOT_INGEST_TOKEN (required), EARSHOT_INGEST_URL, EARSHOT_LISTENER_SALT.`;

export const IMPORT_ACCESS_LOG_HELP = `Usage: earshot import access-log --format nginx|combined|json [options] FILE

Reads a whole access log (plain or .gz) once, for history: the same events, with the same ids, as
earshot collect access-log makes from the same file. Writes them as NDJSON (for earshot report
--events, or to load), or sends them to ingest. Progress on stderr.

Options:
${SHARED_OPTIONS}
  --out FILE            NDJSON output (.gz: gzipped); default stdout
  --ingest-url URL      send to ingest instead (env EARSHOT_INGEST_TOKEN); ingest refuses events older
                        than its EARSHOT_MAX_EVENT_AGE_S, so history goes to --out

Environment: EARSHOT_LISTENER_SALT (the fallback session hash).`;

export interface AccessLogRequest {
  help: boolean;
  files: string[];
  format: AccessLogFormat;
  groups: HlsGroup[];
  docroot?: string;
  origin?: string;
  segmentDurationS?: number;
  mounts: Map<string, string>;
  state?: string;
  fromStart: boolean;
  ingestUrl?: string;
  token?: string;
  out?: string;
  once: boolean;
  salt?: string;
}

function pair(flag: string, item: string): [string, string] {
  const at = item.lastIndexOf('=');
  if (at <= 0 || at === item.length - 1) throw new UsageError(`--${flag} ${item}: expected PATH=KEY`);
  const key = item.slice(at + 1);
  if (!/^[\x21-\x7e]{1,128}$/.test(key))
    throw new UsageError(`--${flag} ${item}: the key must be 1..128 visible ASCII characters`);
  const path = item.slice(0, at);
  if (!path.startsWith('/')) throw new UsageError(`--${flag} ${item}: the path must start with /`);
  return [path, key];
}

/** Validates the command line of `earshot collect access-log` and `earshot import access-log`. */
export function parseAccessLogArgs(
  args: readonly string[],
  env: Env,
  mode: 'collect' | 'import',
): AccessLogRequest {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: [...args],
      options: {
        help: { type: 'boolean', short: 'h' },
        format: { type: 'string' },
        hls: { type: 'string', multiple: true },
        variant: { type: 'string', multiple: true },
        docroot: { type: 'string' },
        origin: { type: 'string' },
        'segment-duration': { type: 'string' },
        mount: { type: 'string', multiple: true },
        state: { type: 'string' },
        'from-start': { type: 'boolean' },
        'ingest-url': { type: 'string' },
        out: { type: 'string' },
        once: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const base = {
    files: [],
    format: 'nginx' as const,
    groups: [],
    mounts: new Map(),
    fromStart: false,
    once: false,
  };
  if (values.help) return { help: true, ...base };
  const format = values.format as AccessLogFormat | undefined;
  if (!format || !ACCESS_LOG_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${ACCESS_LOG_FORMATS.join(', ')}`);
  }
  if (positionals.length === 0) throw new UsageError('name the access log FILE');
  if (mode === 'import' && positionals.length > 1) throw new UsageError('import one FILE at a time');
  const variants = new Map((values.variant ?? []).map((item) => pair('variant', item)));
  const groups: HlsGroup[] = (values.hls ?? []).map((item) => {
    const [path, key] = pair('hls', item);
    return { path, key, variants: Object.fromEntries(variants) };
  });
  if (groups.length > 0 && !values.docroot && !values.origin) {
    throw new UsageError('--hls needs --docroot DIR or --origin URL (where the playlists are read)');
  }
  if (values.origin && !URL.canParse(values.origin)) throw new UsageError('--origin must be a URL');
  let segmentDurationS: number | undefined;
  if (values['segment-duration'] !== undefined) {
    segmentDurationS = Number(values['segment-duration']);
    if (!(segmentDurationS > 0 && segmentDurationS <= 3600))
      throw new UsageError('--segment-duration must be seconds > 0');
  }
  const mounts = new Map<string, string>();
  for (const item of values.mount ?? []) {
    const m = parseMountKey(item);
    if (!m.ok) throw new UsageError(`--mount ${m.reason}`);
    mounts.set(m.value.mount, m.value.stream);
  }
  const ingestUrl = values['ingest-url'] ?? (mode === 'collect' ? env.EARSHOT_INGEST_URL : undefined);
  if (mode === 'collect' && (!ingestUrl || !URL.canParse(ingestUrl))) {
    throw new UsageError('--ingest-url URL (or EARSHOT_INGEST_URL) is required');
  }
  if (ingestUrl && !env.EARSHOT_INGEST_TOKEN) {
    throw new UsageError("EARSHOT_INGEST_TOKEN is required (one of ingest's EARSHOT_INGEST_TOKENS)");
  }
  if (mode === 'import' && ingestUrl && values.out) throw new UsageError('--out or --ingest-url, not both');
  return {
    help: false,
    files: positionals,
    format,
    groups,
    ...(values.docroot ? { docroot: values.docroot } : {}),
    ...(values.origin ? { origin: values.origin } : {}),
    ...(segmentDurationS !== undefined ? { segmentDurationS } : {}),
    mounts,
    ...(values.state ? { state: values.state } : {}),
    fromStart: values['from-start'] ?? false,
    ...(ingestUrl ? { ingestUrl, token: env.EARSHOT_INGEST_TOKEN } : {}),
    ...(values.out ? { out: values.out } : {}),
    once: values.once ?? false,
    ...(env.EARSHOT_LISTENER_SALT ? { salt: env.EARSHOT_LISTENER_SALT } : {}),
  };
}

function mapperFactory(request: AccessLogRequest) {
  const catalog =
    request.groups.length > 0
      ? createHlsCatalog({
          groups: request.groups,
          source: request.docroot ? { docroot: request.docroot } : { origin: request.origin as string },
        })
      : undefined;
  return (ledger: [string, number][] | undefined): AccessLogMapper =>
    createAccessLogMapper({
      ...(catalog ? { catalog } : {}),
      ...(request.salt ? { salt: request.salt } : {}),
      mounts: request.mounts,
      ...(request.segmentDurationS !== undefined ? { fallbackSegmentS: request.segmentDurationS } : {}),
      ...(ledger ? { ledger } : {}),
    });
}

/** `earshot collect access-log`: tails until SIGINT/SIGTERM (or reads once with --once). */
export async function runCollectAccessLog(
  args: readonly string[],
  env: Env,
  io: { stderr: NodeJS.WritableStream },
): Promise<string> {
  const request = parseAccessLogArgs(args, env, 'collect');
  if (request.help) return `${COLLECT_ACCESS_LOG_HELP}\n`;
  const logger = jsonLogger(io.stderr);
  const sink = createHttpSink({
    url: request.ingestUrl as string,
    token: request.token,
    logger,
    maxBuffer: 100_000,
  });
  const collector = await createAccessLogCollector({
    files: request.files,
    format: request.format,
    createMapper: mapperFactory(request),
    sink,
    ...(request.state ? { stateFile: request.state } : {}),
    from: request.fromStart ? 'start' : 'end',
    logger,
  });
  if (request.once) {
    await collector.poll();
    const stats = await sink.close({ timeoutMs: 10_000 });
    return `${JSON.stringify({ ...collector.counts(), sent: stats.sent, failed: stats.failed })}\n`;
  }
  logger.info({ files: request.files, format: request.format }, 'collecting access logs');
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = setInterval(() => logger.info({ ...collector.counts() }, 'access log counts'), 60_000);
  timer.unref();
  await collector.run(abort.signal);
  clearInterval(timer);
  const stats = await sink.close({ timeoutMs: 10_000 });
  logger.info({ ...collector.counts(), ...stats }, 'stopped');
  return '';
}

function ndjsonSink(out: string | undefined, stdout: NodeJS.WritableStream) {
  const file = out ? createWriteStream(out) : undefined;
  const gzip = out?.endsWith('.gz') ? createGzip() : undefined;
  if (gzip && file) gzip.pipe(file);
  const target: NodeJS.WritableStream = gzip ?? file ?? stdout;
  return {
    async write(events: ListenEvent[]) {
      const text = `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
      if (!target.write(text)) await new Promise((resolve) => target.once('drain', resolve));
    },
    async close() {
      if (!file) return;
      await new Promise<void>((resolve, reject) => {
        file.once('finish', () => resolve());
        file.once('error', reject);
        (gzip ?? file).end();
      });
    },
  };
}

async function sendAll(sink: EventSink, events: ListenEvent[]): Promise<void> {
  for (const event of events) sink.push(event);
  do await sink.flush({ timeoutMs: 10_000 });
  while (sink.stats().buffered > 0);
}

/** `earshot import access-log`: one pass over a file, to NDJSON or ingest. */
export async function runImportAccessLog(
  args: readonly string[],
  env: Env,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WriteStream | NodeJS.WritableStream },
): Promise<string> {
  const request = parseAccessLogArgs(args, env, 'import');
  if (request.help) return `${IMPORT_ACCESS_LOG_HELP}\n`;
  const path = request.files[0] as string;
  const sink = request.ingestUrl
    ? createHttpSink({
        url: request.ingestUrl,
        token: request.token,
        logger: jsonLogger(io.stderr),
        maxBuffer: 100_000,
      })
    : undefined;
  const out = sink ? undefined : ndjsonSink(request.out, io.stdout);
  const tty = 'isTTY' in io.stderr && io.stderr.isTTY;
  const started = performance.now();
  const counts = await importAccessLog({
    path,
    format: request.format,
    mapper: mapperFactory(request)(undefined),
    onEvents: (events) => (sink ? sendAll(sink, events) : out?.write(events)),
    onProgress: ({ bytesRead, totalBytes, counts: c }) => {
      const percent = totalBytes > 0 ? Math.min(100, (bytesRead / totalBytes) * 100).toFixed(0) : '0';
      const line = `${path}: ${percent}% read, ${c.lines} lines, ${c.events} events`;
      io.stderr.write(tty ? `\r\u001b[2K${line}` : `${line}\n`);
    },
    progressMs: tty ? 250 : 5000,
  });
  await out?.close();
  const stats = sink ? await sink.close({ timeoutMs: 10_000 }) : undefined;
  const seconds = (performance.now() - started) / 1000;
  if (tty) io.stderr.write('\r\u001b[2K');
  io.stderr.write(
    `${JSON.stringify({ file: path, ...counts, seconds: Math.round(seconds * 10) / 10, ...(stats ? { sent: stats.sent, failed: stats.failed } : {}) })}\n`,
  );
  return '';
}
