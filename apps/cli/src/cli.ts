#!/usr/bin/env node
import pkg from '../package.json' with { type: 'json' };
import { COLLECT_ACCESS_LOG_HELP, runCollectAccessLog, runImportAccessLog } from './collect-access-log.js';
import { COLLECT_ICECAST_HELP, runCollectIcecast } from './collect-icecast.js';
import { COLLECT_SHOUTCAST_HELP, runCollectShoutcast } from './collect-shoutcast.js';
import { runMigrate, runRetention } from './db-commands.js';
import { loadEnv } from './env.js';
import { DataError, UsageError } from './errors.js';
import { runReport } from './report-command.js';
import { runSoundExchange } from './soundexchange-command.js';

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
    const collectors: Record<string, { help: string; run: typeof runCollectIcecast }> = {
      icecast: { help: COLLECT_ICECAST_HELP, run: runCollectIcecast },
      shoutcast: { help: COLLECT_SHOUTCAST_HELP, run: runCollectShoutcast },
      'access-log': { help: COLLECT_ACCESS_LOG_HELP, run: runCollectAccessLog },
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
    const output = collector
      ? await collector.run(rest.slice(1), env.env, { stderr: process.stderr })
      : command === 'import'
        ? await runImportAccessLog(rest.slice(1), env.env, { stdout: process.stdout, stderr: process.stderr })
        : command === 'migrate'
          ? await runMigrate(rest, env.env)
          : command === 'retention'
            ? await runRetention(rest, env.env)
            : command === 'soundexchange'
              ? await runSoundExchange(rest, env.env, { stdout: process.stdout, stderr: process.stderr })
              : await runReport(rest, env.env, { stdout: process.stdout, stderr: process.stderr });
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
