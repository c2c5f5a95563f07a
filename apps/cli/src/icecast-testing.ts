// Test support: a real Icecast 2 (Debian's /usr/bin/icecast2) with its own config, port and log
// directory, and real source and player processes. Tests only.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ADMIN_PASSWORD = 'admin-pw-for-tests';
export const SOURCE_PASSWORD = 'source-pw-for-tests';

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return check();
}

/** Starts a child process whose output goes to `logFile`; it is killed by `stopAll`. */
export function startProcess(
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.on('exit', () => {
    try {
      writeFileSync(logFile, out);
    } catch {
      // the directory is gone: the test ended
    }
  });
  return child;
}

/** Resolves when the process has exited (at once if it had). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface RunningIcecast {
  url: string;
  port: number;
  dir: string;
  accessLog: string;
  /** Lines of the access log for listener requests of `mount` (GET ... 200). */
  listenerLines(mount: string): AccessLine[];
  /** Stops Icecast: SIGTERM (it logs every listener) or SIGKILL. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again (after `stop`) with the same config, port and logs. */
  restart(): Promise<void>;
  /** Stops and removes the directory. */
  dispose(): Promise<void>;
}

/** One listener line of Icecast's access log. */
export interface AccessLine {
  ip: string;
  endMs: number;
  bytes: number;
  connectedS: number;
  ua: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Parses Icecast's access log independently of the collector's parser (the test's own reading). */
export function readListenerLines(text: string, mount: string): AccessLine[] {
  const out: AccessLine[] = [];
  const re =
    /^(\S+) \S+ \S+ \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\] "GET (\S+) [^"]*" 200 (\d+) "[^"]*" "([^"]*)" (\d+)$/;
  for (const line of text.split('\n')) {
    const m = line.match(re);
    if (!m || (m[11] ?? '').split('?')[0] !== mount) continue;
    const offsetMin = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
    const utc = Date.UTC(
      Number(m[4]),
      MONTHS.indexOf(m[3] ?? ''),
      Number(m[2]),
      Number(m[5]),
      Number(m[6]),
      Number(m[7]),
    );
    out.push({
      ip: m[1] ?? '',
      endMs: utc - offsetMin * 60_000,
      bytes: Number(m[12]),
      ua: m[13] ?? '',
      connectedS: Number(m[14]),
    });
  }
  return out;
}

/** Starts icecast2 on a free port with a config written here; resolves once it answers. */
export async function startIcecast(options: { mounts?: string[] } = {}): Promise<RunningIcecast> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-icecast-'));
  // Icecast refuses to run as root unless told which user to become: then that user writes the logs.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chmodSync(dir, 0o777);
  const port = await freePort();
  const mounts = (options.mounts ?? []).map((m) => `<mount><mount-name>${m}</mount-name></mount>`).join('');
  writeFileSync(
    join(dir, 'icecast.xml'),
    `<icecast>
  <location>test</location><admin>test@localhost</admin><hostname>127.0.0.1</hostname>
  <limits><clients>1000</clients><sources>4</sources><burst-size>65535</burst-size><source-timeout>10</source-timeout></limits>
  <authentication>
    <source-password>${SOURCE_PASSWORD}</source-password><relay-password>${SOURCE_PASSWORD}</relay-password>
    <admin-user>admin</admin-user><admin-password>${ADMIN_PASSWORD}</admin-password>
  </authentication>
  <listen-socket><port>${port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  ${mounts}
  <paths>
    <basedir>/usr/share/icecast2</basedir><logdir>${dir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>${asRoot ? '<changeowner><user>nobody</user><group>nogroup</group></changeowner>' : ''}</security>
</icecast>
`,
  );
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  const launch = async () => {
    child = startProcess('/usr/bin/icecast2', ['-c', join(dir, 'icecast.xml')], join(dir, 'icecast.out'));
    const up = await waitFor(async () => {
      try {
        return (await fetch(`${url}/status-json.xsl`)).status > 0;
      } catch {
        return false;
      }
    }, 10_000);
    if (!up) throw new Error(`icecast2 did not start: ${readSafe(join(dir, 'error.log'))}`);
  };
  await launch();
  const accessLog = join(dir, 'access.log');
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited(child);
  };
  return {
    url,
    port,
    dir,
    accessLog,
    listenerLines: (mount) => readListenerLines(readSafe(accessLog), mount),
    stop,
    restart: launch,
    async dispose() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** ffmpeg as Icecast's source client: a sine tone as 64 kbit/s MP3 on `mount`, in real time. */
export function startFfmpegSource(icecast: RunningIcecast, mount: string): ChildProcess {
  return startProcess(
    'ffmpeg',
    [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=44100',
      '-c:a',
      'libmp3lame',
      '-b:a',
      '64k',
      '-content_type',
      'audio/mpeg',
      '-f',
      'mp3',
      `icecast://source:${SOURCE_PASSWORD}@127.0.0.1:${icecast.port}${mount}`,
    ],
    join(icecast.dir, `source${mount.replaceAll('/', '_')}.out`),
  );
}

/** Resolves once Icecast lists a source on `mount`. */
export async function waitForMount(
  icecast: RunningIcecast,
  mount: string,
  timeoutMs = 15_000,
): Promise<void> {
  const ok = await waitFor(async () => {
    const res = await fetch(`${icecast.url}/admin/stats`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` },
    });
    return (await res.text()).includes(`<source mount="${mount}">`);
  }, timeoutMs);
  if (!ok) throw new Error(`no source on ${mount}`);
}

/**
 * ffmpeg as a player: reads `url` in real time (`-re`, as a player does) for `seconds` of audio into
 * the null muxer. `liveEdge` starts an HLS playlist at its newest segment, as the station's tests do.
 */
export function ffmpegPlayer(
  url: string,
  seconds: number,
  logFile: string,
  options: { liveEdge?: boolean } = {},
): ChildProcess {
  return startProcess(
    'ffmpeg',
    [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      ...(options.liveEdge ? ['-live_start_index', '-1'] : []),
      '-i',
      url,
      '-t',
      String(seconds),
      '-f',
      'null',
      '-',
    ],
    logFile,
  );
}

/**
 * mpv as a player, no video, audio to nowhere. By default it stops after `seconds` of playback
 * (`--length`); `stopAfter: 'wall'` sends SIGTERM after `seconds` of wall time instead, for a source
 * whose timestamps restart (the demo station's HLS loops with a discontinuity, and mpv's position,
 * which `--length` counts, starts over with it).
 */
export function mpvPlayer(
  url: string,
  seconds: number,
  logFile: string,
  options: { stopAfter?: 'playback' | 'wall' } = {},
): ChildProcess {
  const wall = options.stopAfter === 'wall';
  const child = startProcess(
    'mpv',
    [
      '--no-video',
      '--ao=null',
      '--no-config',
      '--really-quiet',
      ...(wall ? [] : [`--length=${seconds}`]),
      url,
    ],
    logFile,
  );
  if (wall) {
    const timer = setTimeout(() => child.kill('SIGTERM'), seconds * 1000);
    child.once('exit', () => clearTimeout(timer));
  }
  return child;
}

/** Liquidsoap as Icecast's source client: a one-line script to `output.icecast`, 64 kbit/s MP3. */
export function startLiquidsoapSource(icecast: RunningIcecast, mount: string): ChildProcess {
  const script = join(icecast.dir, 'source.liq');
  writeFileSync(
    script,
    // Liquidsoap refuses to run as root unless told to (CI runs as root).
    `${process.getuid?.() === 0 ? 'settings.init.allow_root.set(true)\n' : ''}output.icecast(%mp3(bitrate=64), host="127.0.0.1", port=${icecast.port}, password="${SOURCE_PASSWORD}", mount="${mount.replace(/^\//, '')}", mksafe(sine()))\n`,
  );
  return startProcess('liquidsoap', [script], join(icecast.dir, 'liquidsoap.out'));
}
