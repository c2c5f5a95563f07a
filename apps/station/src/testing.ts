// Test support for this package and the cross-app tests (`@earshot/station/testing`): a real player.
import { spawn } from 'node:child_process';

/**
 * Plays `url` with ffmpeg for `seconds` of audio into the null muxer, as a real player would fetch
 * it; resolves with the wall time it took, rejects with ffmpeg's stderr if it fails.
 */
export function play(url: string, inputOptions: string[], seconds: number): Promise<{ wallS: number }> {
  const started = performance.now();
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    ...inputOptions,
    '-i',
    url,
    '-t',
    String(seconds),
    '-f',
    'null',
    '-',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ wallS: (performance.now() - started) / 1000 });
      else reject(new Error(`ffmpeg ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}
