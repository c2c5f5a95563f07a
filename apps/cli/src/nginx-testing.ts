// Test support: Debian's nginx with its own config, port, logs and pid file in a temp dir, serving
// a live HLS stream (two variants and a master playlist) that ffmpeg writes; real players. Tests only.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, freePort, startProcess, waitFor } from './icecast-testing.js';

export const NGINX = '/usr/sbin/nginx';
const CONF_DIR = join(import.meta.dirname, '../../../packages/collectors/nginx');

export interface RunningNginx {
  url: string;
  dir: string;
  docroot: string;
  accessLog: string;
  /** `nginx -s reopen`: nginx closes its logs and opens them again (after a rename: a new file). */
  reopen(): void;
  dispose(): Promise<void>;
}

/**
 * Starts nginx on a free port; `/hls/` is served from `<dir>/www/hls` and logged with the earshot
 * log_format. With `sessions`, the playlists go through nginx/earshot-sessions.conf (session ids
 * for players that send none).
 */
export async function startNginx(options: {
  sessions: boolean;
  format?: 'earshot' | 'earshot_json';
  /** Serve this docroot (another nginx's) instead of a new one. */
  docroot?: string;
}): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-nginx-'));
  const docroot = options.docroot ?? join(dir, 'www');
  mkdirSync(join(docroot, 'hls'), { recursive: true });
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'tmp'));
  const port = await freePort();
  const accessLog = join(dir, 'logs', 'access.log');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `${name}_temp_path ${join(dir, 'tmp', name)};`)
    .join(' ');
  // As root, nginx's workers would switch to `nobody`, who cannot read a 0700 temp dir.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${user}
daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')};
events { worker_connections 256; }
http {
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  ${temp}
  access_log off;
  include ${join(CONF_DIR, 'earshot.conf')};
  server {
    listen 127.0.0.1:${port};
    root ${docroot};
    access_log ${accessLog} ${options.format ?? 'earshot'};
    location ~ ^/hls/.+\\.m3u8$ {
      ${options.sessions ? `include ${join(CONF_DIR, 'earshot-sessions.conf')};` : 'add_header Cache-Control no-cache;'}
    }
    location /hls/ { }
  }
}
`,
  );
  const child = startProcess(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir], join(dir, 'nginx.out'));
  const url = `http://127.0.0.1:${port}`;
  const up = await waitFor(async () => {
    try {
      return (await fetch(`${url}/nothing`)).status === 404;
    } catch {
      return false;
    }
  }, 10_000);
  if (!up) throw new Error(`nginx did not start: ${readSafe(join(dir, 'logs', 'error.log'))}`);
  return {
    url,
    dir,
    docroot,
    accessLog,
    reopen() {
      execFileSync(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-s', 'reopen'], { stdio: 'ignore' });
    },
    async dispose() {
      // SIGTERM: the master stops its workers too (SIGKILL would leave them serving).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * ffmpeg encodes a live tone into `<docroot>/hls`: AAC at 32 and 64 kbit/s, `segmentS` segments, the
 * master playlist `live.m3u8` and the variants `32k/live.m3u8`, `64k/live.m3u8`.
 */
export function startHlsEncoder(docroot: string, segmentS = 2): ChildProcess {
  const hls = join(docroot, 'hls');
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
      'sine=frequency=440:sample_rate=48000',
      '-map',
      '0:a',
      '-map',
      '0:a',
      '-c:a',
      'aac',
      '-b:a:0',
      '32k',
      '-b:a:1',
      '64k',
      '-f',
      'hls',
      '-hls_time',
      String(segmentS),
      // Every segment stays listed (a live playlist without a window, not EVENT: players start
      // at the live edge), so an import after the fact finds every #EXTINF too.
      '-hls_list_size',
      '0',
      '-master_pl_name',
      'live.m3u8',
      '-var_stream_map',
      'a:0,name:32k a:1,name:64k',
      '-hls_segment_filename',
      join(hls, '%v', 'seg%05d.ts'),
      join(hls, '%v', 'live.m3u8'),
    ],
    join(docroot, '..', 'ffmpeg-encoder.out'),
  );
}

export function readSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
