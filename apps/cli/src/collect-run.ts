import type { HttpSink } from '@earshot/logger';

/** The collectors' log: one JSON line per record on stderr (the command's stdout is its report). */
export function jsonLogger(stderr: NodeJS.WritableStream) {
  const log = (level: string) => (object: Record<string, unknown>, message?: string) => {
    const err = object.err instanceof Error ? { err: object.err.message } : {};
    stderr.write(
      `${JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...object, ...err })}\n`,
    );
  };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** A polling collector (Icecast, Shoutcast DNAS) as the CLI runs it. */
interface PollingCollector {
  runOnce(): Promise<object>;
  start(): unknown;
  stop(): Promise<unknown>;
}

/**
 * Runs `collector`: one cycle with `once` (its report and the sink's counts as a JSON line), else
 * until SIGINT/SIGTERM, then stops it and delivers what the sink still holds.
 */
export async function runPollingCollector(
  collector: PollingCollector,
  sink: HttpSink,
  options: {
    once: boolean;
    logger: ReturnType<typeof jsonLogger>;
    started: [Record<string, unknown>, string];
  },
): Promise<string> {
  if (options.once) {
    const report = await collector.runOnce();
    const stats = await sink.close({ timeoutMs: 10_000 });
    return `${JSON.stringify({ ...report, sent: stats.sent, failed: stats.failed, dropped: stats.dropped })}\n`;
  }
  options.logger.info(...options.started);
  await collector.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await collector.stop();
  options.logger.info({ ...(await sink.close({ timeoutMs: 10_000 })) }, 'stopped');
  return '';
}
