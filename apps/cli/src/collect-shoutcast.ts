import { parseArgs } from 'node:util';
import { createShoutcastCollector } from '@earshot/collectors';
import { createHttpSink } from '@earshot/logger';
import { jsonLogger, runPollingCollector } from './collect-run.js';
import type { Env } from './env.js';
import { UsageError } from './errors.js';

export const COLLECT_SHOUTCAST_HELP = `Usage: earshot collect shoutcast --dnas-url URL --stream KEY [options]

Counts the listeners of one stream of a Shoutcast DNAS 2 from its admin XML
(admin.cgi?sid=N&mode=viewxml&page=3) and sends their listen events to ingest: a tick event per
listener every --tick seconds; a listener who is no longer listed is closed at the last poll that
listed it (within one tick). Not run against a live DNAS (proprietary): built and tested from its
documented XML. Runs until SIGINT/SIGTERM.

Options:
  --dnas-url URL      the DNAS's base URL, e.g. http://127.0.0.1:8000
  --sid N             stream id on the DNAS (default 1)
  --stream KEY        the stream key of the events (required)
  --bitrate KBPS      the stream's bitrate for bytes (default: the DNAS's BITRATE)
  --state FILE        open connections, so a restart neither loses nor doubles ticks
  --server NAME       this DNAS's name in session ids (default: host:port of --dnas-url)
  --tick S            seconds between tick events and polls (default 30)
  --ingest-url URL    ingest (env EARSHOT_INGEST_URL)
  --once              one cycle, then exit

Environment: EARSHOT_DNAS_ADMIN_PASSWORD (required; sent as HTTP Basic admin:PASSWORD),
EARSHOT_INGEST_TOKEN (required), EARSHOT_INGEST_URL.`;

export interface CollectShoutcastRequest {
  help: boolean;
  url: string;
  sid: number;
  stream: string;
  bitrateKbps: number | undefined;
  stateFile: string | undefined;
  server: string | undefined;
  tickS: number;
  ingestUrl: string;
  token: string;
  password: string;
  once: boolean;
}

/** Validates the command line and environment of `earshot collect shoutcast`. */
export function parseCollectShoutcastArgs(args: readonly string[], env: Env): CollectShoutcastRequest {
  const options = {
    help: { type: 'boolean', short: 'h' },
    'dnas-url': { type: 'string' },
    sid: { type: 'string' },
    stream: { type: 'string' },
    bitrate: { type: 'string' },
    state: { type: 'string' },
    server: { type: 'string' },
    tick: { type: 'string' },
    'ingest-url': { type: 'string' },
    once: { type: 'boolean' },
  } as const;
  let values: ReturnType<
    typeof parseArgs<{ options: typeof options; strict: true; allowPositionals: false }>
  >['values'];
  try {
    values = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const request: CollectShoutcastRequest = {
    help: values.help ?? false,
    url: values['dnas-url'] ?? '',
    sid: Number(values.sid ?? 1),
    stream: values.stream ?? '',
    bitrateKbps: values.bitrate === undefined ? undefined : Number(values.bitrate),
    stateFile: values.state,
    server: values.server,
    tickS: Number(values.tick ?? 30),
    ingestUrl: values['ingest-url'] ?? env.EARSHOT_INGEST_URL ?? '',
    token: env.EARSHOT_INGEST_TOKEN ?? '',
    password: env.EARSHOT_DNAS_ADMIN_PASSWORD ?? '',
    once: values.once ?? false,
  };
  if (request.help) return request;
  if (!URL.canParse(request.url)) throw new UsageError('--dnas-url URL is required');
  if (!Number.isInteger(request.sid) || request.sid < 1)
    throw new UsageError('--sid must be a whole number >= 1');
  if (!/^[\x21-\x7e]{1,128}$/.test(request.stream)) {
    throw new UsageError('--stream KEY is required (1..128 visible ASCII characters)');
  }
  if (request.bitrateKbps !== undefined && !(request.bitrateKbps > 0))
    throw new UsageError('--bitrate must be > 0');
  if (!Number.isInteger(request.tickS) || request.tickS < 1) {
    throw new UsageError('--tick must be a whole number of seconds >= 1');
  }
  if (!URL.canParse(request.ingestUrl))
    throw new UsageError('--ingest-url URL (or EARSHOT_INGEST_URL) is required');
  if (!request.token)
    throw new UsageError("EARSHOT_INGEST_TOKEN is required (one of ingest's EARSHOT_INGEST_TOKENS)");
  if (!request.password)
    throw new UsageError('EARSHOT_DNAS_ADMIN_PASSWORD is required (the DNAS adminpassword)');
  return request;
}

/** `earshot collect shoutcast`: runs the collector until SIGINT/SIGTERM (or one cycle with --once). */
export async function runCollectShoutcast(
  args: readonly string[],
  env: Env,
  io: { stderr: NodeJS.WritableStream },
): Promise<string> {
  const request = parseCollectShoutcastArgs(args, env);
  if (request.help) return `${COLLECT_SHOUTCAST_HELP}\n`;
  const logger = jsonLogger(io.stderr);
  const sink = createHttpSink({ url: request.ingestUrl, token: request.token, logger, maxBuffer: 100_000 });
  const collector = createShoutcastCollector({
    url: request.url,
    adminPassword: request.password,
    sid: request.sid,
    stream: request.stream,
    ...(request.server ? { server: request.server } : {}),
    ...(request.bitrateKbps ? { bitrateKbps: request.bitrateKbps } : {}),
    ...(request.stateFile ? { stateFile: request.stateFile } : {}),
    tickS: request.tickS,
    sink,
    logger,
  });
  return runPollingCollector(collector, sink, {
    once: request.once,
    logger,
    started: [
      { dnas: request.url, sid: request.sid, stream: request.stream },
      'collecting Shoutcast DNAS listeners',
    ],
  });
}
