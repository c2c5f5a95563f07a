import { parseArgs } from 'node:util';
import { createIcecastCollector, type IcecastMount, parseMountKey } from '@earshot/collectors';
import { createHttpSink } from '@earshot/logger';
import { jsonLogger, runPollingCollector } from './collect-run.js';
import type { Env } from './env.js';
import { UsageError } from './errors.js';

export const COLLECT_ICECAST_HELP = `Usage: earshot collect icecast --mount MOUNT[=KEY] ... [options]

Counts the listeners of an unmodified Icecast 2 server and sends their listen events to ingest:
a tick event per connected listener of the counted mounts every --tick seconds (from the admin
listclients), and at disconnect the exact remainder (seconds connected, bytes sent) from Icecast's
access log. Run it beside Icecast (same clock, the access log readable). Runs until SIGINT/SIGTERM.

Options:
  --icecast-url URL     Icecast's base URL (env EARSHOT_ICECAST_URL, e.g. http://127.0.0.1:8000)
  --mount MOUNT[=KEY]   a mount to count and its stream key (repeatable; /live.mp3 alone is keyed
                        live-mp3); default: every mount with a source
  --bitrate MOUNT=KBPS  the mount's bitrate, for the ticks' bytes (default: what the source declares,
                        else the rate Icecast reads from it); the close makes the total exact
  --access-log PATH     Icecast's access log (<logdir>/<accesslog>): exact closes. Strongly advised
  --from-start          on the first run read the access log from its start (default: its end)
  --state FILE          state file (log position, open connections); needed to lose nothing on restart
  --server NAME         this server's name in session ids (default: host:port of --icecast-url)
  --tick S              seconds between tick events and polls (default 30)
  --grace S             how long a vanished connection waits for its log line (default 2 ticks)
  --ingest-url URL      ingest (env EARSHOT_INGEST_URL)
  --once                one cycle, then exit (cron, tests)

Environment: EARSHOT_ICECAST_ADMIN_USER (default admin), EARSHOT_ICECAST_ADMIN_PASSWORD (required),
EARSHOT_INGEST_TOKEN (required), EARSHOT_ICECAST_URL, EARSHOT_INGEST_URL.`;

export interface CollectIcecastRequest {
  help: boolean;
  icecastUrl: string;
  user: string;
  password: string;
  mounts: IcecastMount[] | undefined;
  accessLog: string | undefined;
  fromStart: boolean;
  stateFile: string | undefined;
  server: string | undefined;
  tickS: number;
  graceS: number | undefined;
  ingestUrl: string;
  token: string;
  once: boolean;
}

function seconds(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${name} must be ${integer ? 'a whole number of seconds >= 1' : 'a number of seconds > 0'}`,
    );
  }
  return n;
}

/** Validates the command line and environment of `earshot collect icecast`. */
export function parseCollectIcecastArgs(args: readonly string[], env: Env): CollectIcecastRequest {
  let values: ReturnType<typeof parse>['values'];
  function parse() {
    return parseArgs({
      args: [...args],
      options: {
        help: { type: 'boolean', short: 'h' },
        'icecast-url': { type: 'string' },
        mount: { type: 'string', multiple: true },
        bitrate: { type: 'string', multiple: true },
        'access-log': { type: 'string' },
        'from-start': { type: 'boolean' },
        state: { type: 'string' },
        server: { type: 'string' },
        tick: { type: 'string' },
        grace: { type: 'string' },
        'ingest-url': { type: 'string' },
        once: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  }
  try {
    values = parse().values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const empty = {
    icecastUrl: '',
    user: '',
    password: '',
    mounts: undefined,
    accessLog: undefined,
    fromStart: false,
    stateFile: undefined,
    server: undefined,
    tickS: 30,
    graceS: undefined,
    ingestUrl: '',
    token: '',
    once: false,
  };
  if (values.help) return { help: true, ...empty };
  const icecastUrl = values['icecast-url'] ?? env.EARSHOT_ICECAST_URL;
  if (!icecastUrl || !URL.canParse(icecastUrl))
    throw new UsageError('--icecast-url URL (or EARSHOT_ICECAST_URL) is required');
  const password = env.EARSHOT_ICECAST_ADMIN_PASSWORD;
  if (!password) throw new UsageError('EARSHOT_ICECAST_ADMIN_PASSWORD is required (Icecast admin password)');
  const ingestUrl = values['ingest-url'] ?? env.EARSHOT_INGEST_URL;
  if (!ingestUrl || !URL.canParse(ingestUrl))
    throw new UsageError('--ingest-url URL (or EARSHOT_INGEST_URL) is required');
  const token = env.EARSHOT_INGEST_TOKEN;
  if (!token)
    throw new UsageError("EARSHOT_INGEST_TOKEN is required (one of ingest's EARSHOT_INGEST_TOKENS)");
  const bitrates = new Map<string, number>();
  for (const item of values.bitrate ?? []) {
    const at = item.lastIndexOf('=');
    const kbps = Number(item.slice(at + 1));
    if (at <= 0 || !(kbps > 0)) throw new UsageError(`--bitrate ${item}: expected MOUNT=KBPS`);
    bitrates.set(item.slice(0, at), kbps);
  }
  let mounts: IcecastMount[] | undefined;
  if (values.mount?.length) {
    mounts = values.mount.map((item) => {
      const parsed = parseMountKey(item);
      if (!parsed.ok) throw new UsageError(`--mount ${parsed.reason}`);
      const kbps = bitrates.get(parsed.value.mount);
      return kbps ? { ...parsed.value, bitrateKbps: kbps } : parsed.value;
    });
  } else if (bitrates.size > 0) throw new UsageError('--bitrate needs the mount named with --mount');
  return {
    help: false,
    icecastUrl,
    user: env.EARSHOT_ICECAST_ADMIN_USER ?? 'admin',
    password,
    mounts,
    accessLog: values['access-log'],
    fromStart: values['from-start'] ?? false,
    stateFile: values.state,
    server: values.server,
    tickS: seconds('tick', values.tick, true) ?? 30,
    graceS: seconds('grace', values.grace, false),
    ingestUrl,
    token,
    once: values.once ?? false,
  };
}

/** `earshot collect icecast`: runs the collector until SIGINT/SIGTERM (or one cycle with --once). */
export async function runCollectIcecast(
  args: readonly string[],
  env: Env,
  io: { stderr: NodeJS.WritableStream },
): Promise<string> {
  const request = parseCollectIcecastArgs(args, env);
  if (request.help) return `${COLLECT_ICECAST_HELP}\n`;
  const logger = jsonLogger(io.stderr);
  const sink = createHttpSink({ url: request.ingestUrl, token: request.token, logger, maxBuffer: 100_000 });
  const collector = createIcecastCollector({
    admin: { url: request.icecastUrl, user: request.user, password: request.password },
    ...(request.server ? { server: request.server } : {}),
    ...(request.mounts ? { mounts: request.mounts } : {}),
    ...(request.accessLog ? { accessLog: request.accessLog } : {}),
    accessLogFrom: request.fromStart ? 'start' : 'end',
    ...(request.stateFile ? { stateFile: request.stateFile } : {}),
    tickS: request.tickS,
    ...(request.graceS !== undefined ? { graceS: request.graceS } : {}),
    sink,
    logger,
  });
  return runPollingCollector(collector, sink, {
    once: request.once,
    logger,
    started: [
      {
        icecast: request.icecastUrl,
        mounts: request.mounts?.map((m) => m.mount) ?? 'all',
        tickS: request.tickS,
      },
      'collecting Icecast listeners',
    ],
  });
}
