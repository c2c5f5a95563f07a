import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What a CLI run printed and how it exited. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Settings must come from the test, not from the machine running it.
const SETTINGS = [
  'EARSHOT_TZ',
  'EARSHOT_IDLE_S',
  'EARSHOT_MIN_SESSION_S',
  'EARSHOT_MAX_SESSION_S',
  'EARSHOT_AQH_QUALIFIER_S',
  'EARSHOT_MAX_EVENT_AGE_S',
  'DATABASE_URL',
  'EARSHOT_DATA_DIR',
];

/** Runs the CLI from source in a child process, as a user would run the bin (tests only). */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; input?: string | Buffer } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env };
    for (const name of SETTINGS) delete env[name];
    Object.assign(env, options.env);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: cliDir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
