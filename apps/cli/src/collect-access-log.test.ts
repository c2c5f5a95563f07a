import { describe, expect, it } from 'vitest';
import { parseAccessLogArgs } from './collect-access-log.js';
import { type Env, loadEnv } from './env.js';
import { UsageError } from './errors.js';

function env(vars: Record<string, string> = {}): Env {
  const loaded = loadEnv(vars);
  if (!loaded.ok) throw new Error(loaded.message);
  return loaded.env;
}

describe('earshot collect/import access-log arguments', () => {
  it('reads groups, variants, mounts and the salt', () => {
    const request = parseAccessLogArgs(
      [
        '--format',
        'nginx',
        '--hls',
        '/hls/live.m3u8=live',
        '--variant',
        '/hls/32k/live.m3u8=live-lo',
        '--docroot',
        '/var/www',
        '--mount',
        '/live.mp3',
        '--state',
        's.json',
        'a.log',
        'b.log',
      ],
      env({
        EARSHOT_INGEST_URL: 'http://127.0.0.1:8081',
        EARSHOT_INGEST_TOKEN: 't',
        EARSHOT_LISTENER_SALT: 'x',
      }),
      'collect',
    );
    expect(request).toMatchObject({
      files: ['a.log', 'b.log'],
      format: 'nginx',
      groups: [{ path: '/hls/live.m3u8', key: 'live', variants: { '/hls/32k/live.m3u8': 'live-lo' } }],
      docroot: '/var/www',
      state: 's.json',
      ingestUrl: 'http://127.0.0.1:8081',
      salt: 'x',
    });
    expect([...request.mounts]).toEqual([['/live.mp3', 'live-mp3']]);
  });

  it('says what is missing or wrong', () => {
    const bad =
      (args: string[], mode: 'collect' | 'import' = 'import', vars = {}) =>
      () =>
        parseAccessLogArgs(args, env(vars), mode);
    expect(bad(['x.log'])).toThrow(/--format must be one of nginx, combined, json/);
    expect(bad(['--format', 'nginx'])).toThrow(/name the access log FILE/);
    expect(bad(['--format', 'nginx', '--hls', '/hls/live.m3u8=live', 'x.log'])).toThrow(
      /--docroot DIR or --origin/,
    );
    expect(bad(['--format', 'nginx', '--hls', 'live.m3u8=live', '--docroot', '.', 'x.log'])).toThrow(
      /must start with \//,
    );
    expect(bad(['--format', 'json', 'x.log'], 'collect')).toThrow(/--ingest-url URL/);
    expect(bad(['--format', 'json', '--ingest-url', 'http://h', 'x.log'], 'collect')).toThrow(
      /EARSHOT_INGEST_TOKEN/,
    );
    expect(bad(['--format', 'json', 'x.log', 'y.log'])).toThrow(UsageError);
  });
});
