import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL server of the test's own (initdb into a temporary directory, its own port and
 * socket directory, trust auth), so a test can freeze it with SIGSTOP without freezing the
 * database every other test uses.
 */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  url: string;
  /** SIGSTOP the postmaster, then each of its children (so it forks none in between). */
  freeze(): number[];
  /** SIGCONT every process frozen (children first). */
  thaw(): void;
  /** Thaws, stops the server (`pg_ctl stop -m immediate`) and removes its directory; never throws. */
  close(): void;
}

/** The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter(
          (v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')),
        )
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}/*/bin`);
  return join(root, versions[0]!, 'bin');
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Child pids of `pid`, from /proc. */
/** The pids whose parent is `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent pid; the command (field 2) may hold spaces, so
      // read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process ended while we read.
    }
  }
  return children;
}

/** Sends `sig` to `pid`, ignoring a process that is gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}

/** initdb + pg_ctl start. As root, both run as the `postgres` OS user (initdb refuses root). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'earshot-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]]
      : [join(bin, command), args];
    return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
  };
  const frozen = new Set<number>();
  let postmaster = 0;
  const thaw = () => {
    for (const pid of [...frozen].reverse()) signal(pid, 'SIGCONT');
    frozen.clear();
  };
  const close = () => {
    thaw();
    try {
      if (existsSync(join(data, 'postmaster.pid')))
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
    } catch {
      if (postmaster > 0) signal(postmaster, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const port = await freePort();
    run('pg_ctl', [
      'start',
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    ]);
    postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      freeze() {
        signal(postmaster, 'SIGSTOP');
        frozen.add(postmaster);
        for (const pid of childrenOf(postmaster)) {
          signal(pid, 'SIGSTOP');
          frozen.add(pid);
        }
        return [...frozen];
      },
      thaw,
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}
