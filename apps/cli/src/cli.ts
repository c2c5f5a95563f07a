#!/usr/bin/env node
import pkg from '../package.json' with { type: 'json' };
import { loadEnv } from './env.js';
import { DataError, UsageError } from './errors.js';

const HELP = `Usage: earshot <command> [options]

Listener analytics for internet radio.

Commands:
  report     listener report (AQH, cume, TLH, ATSL by stream and daypart) from an NDJSON event export or the database
  soundexchange  SoundExchange report of use (TSV, performances per sound recording) from events and track events
  migrate    create or update Earshot's tables in the database
  retention  drop raw listen-event days older than --keep-days N that ingest and the worker no longer need
  collect icecast  count an unmodified Icecast 2 server's listeners into ingest (earshot collect icecast --help)
  collect shoutcast  count a Shoutcast DNAS 2 stream's listeners from its admin XML (earshot collect shoutcast --help)
  collect access-log  tail nginx/CDN/Icecast access logs (HLS, continuous streams) into ingest (earshot collect access-log --help)
  import access-log   one pass over an old access log (plain or .gz) to NDJSON events or ingest

Options:
  -h, --help       help (also: earshot <command> --help)
  -v, --version    version

Environment: EARSHOT_TZ, EARSHOT_IDLE_S, EARSHOT_MIN_SESSION_S, EARSHOT_MAX_SESSION_S, EARSHOT_AQH_QUALIFIER_S,
DATABASE_URL, EARSHOT_DATA_DIR (migrate, retention, and report without --events), EARSHOT_MAX_EVENT_AGE_S
(retention, when ingest stored none).`;

type Collector = typeof import('./collect-icecast.js').runCollectIcecast;

/** Writes text and resolves once it is handed to the OS (so large output is not cut at exit). */
function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => resolve());
  });
}

async function main(argv: readonly string[]): Promise<number> {
  // `earshot report | head` closes stdout early: stop quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      await write(process.stdout, `${HELP}\n`);
      return command === undefined ? 2 : 0;
    }
    if (command === '-v' || command === '--version') {
      await write(process.stdout, `${pkg.version}\n`);
      return 0;
    }
    const commands = ['report', 'soundexchange', 'migrate', 'retention', 'collect', 'import'];
    if (!commands.includes(command))
      throw new UsageError(`unknown command "${command}" (see earshot --help)`);
    const env = loadEnv(process.env);
    if (!env.ok) throw new UsageError(env.message);
    // Each command's modules are loaded only when it runs: the collectors' and the database's
    // dependencies would add start-up time and memory to every `earshot report`.
    const collectors: Record<string, () => Promise<Collector>> = {
      icecast: async () => (await import('./collect-icecast.js')).runCollectIcecast,
      shoutcast: async () => (await import('./collect-shoutcast.js')).runCollectShoutcast,
      'access-log': async () => (await import('./collect-access-log.js')).runCollectAccessLog,
    };
    const collector = command === 'collect' ? collectors[rest[0] ?? ''] : undefined;
    if (command === 'collect' && !collector) {
      throw new UsageError(
        `collect what? one of: ${Object.keys(collectors).join(', ')} (see earshot collect icecast --help)`,
      );
    }
    if (command === 'import' && rest[0] !== 'access-log') {
      throw new UsageError('import what? access-log (see earshot import access-log --help)');
    }
    const io = { stdout: process.stdout, stderr: process.stderr };
    let output: string;
    if (collector) output = await (await collector())(rest.slice(1), env.env, { stderr: process.stderr });
    else if (command === 'import')
      output = await (await import('./collect-access-log.js')).runImportAccessLog(rest.slice(1), env.env, io);
    else if (command === 'migrate')
      output = await (await import('./db-commands.js')).runMigrate(rest, env.env);
    else if (command === 'retention')
      output = await (await import('./db-commands.js')).runRetention(rest, env.env);
    else if (command === 'soundexchange')
      output = await (await import('./soundexchange-command.js')).runSoundExchange(rest, env.env, io);
    else output = await (await import('./report-command.js')).runReport(rest, env.env, io);
    await write(process.stdout, output);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`earshot ${command ?? ''}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof DataError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    process.stderr.write(`earshot: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
