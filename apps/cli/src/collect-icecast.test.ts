import { describe, expect, it } from 'vitest';
import { parseCollectIcecastArgs } from './collect-icecast.js';
import type { Env } from './env.js';
import { UsageError } from './errors.js';

const ENV: Env = {
  EARSHOT_ICECAST_ADMIN_PASSWORD: 'pw',
  EARSHOT_INGEST_TOKEN: 'token',
  EARSHOT_INGEST_URL: 'http://127.0.0.1:8081',
} as Env;

describe('earshot collect icecast arguments', () => {
  it('reads mounts with their keys and bitrates, the rest from the environment', () => {
    const r = parseCollectIcecastArgs(
      [
        '--icecast-url',
        'http://127.0.0.1:8000',
        '--mount',
        '/live.mp3',
        '--mount',
        '/hi.aac=station-hi',
        '--bitrate',
        '/hi.aac=128',
        '--tick',
        '10',
      ],
      ENV,
    );
    expect(r).toMatchObject({
      icecastUrl: 'http://127.0.0.1:8000',
      user: 'admin',
      password: 'pw',
      token: 'token',
      ingestUrl: 'http://127.0.0.1:8081',
      tickS: 10,
      mounts: [
        { mount: '/live.mp3', stream: 'live-mp3' },
        { mount: '/hi.aac', stream: 'station-hi', bitrateKbps: 128 },
      ],
    });
  });

  it('refuses a missing password, token or URL, a bad tick and unknown flags, as usage errors', () => {
    const base = ['--icecast-url', 'http://127.0.0.1:8000'];
    const cases: [string[], Partial<Env>][] = [
      [base, { EARSHOT_ICECAST_ADMIN_PASSWORD: undefined }],
      [base, { EARSHOT_INGEST_TOKEN: undefined }],
      [base, { EARSHOT_INGEST_URL: undefined }],
      [[], {}],
      [[...base, '--tick', '2.5'], {}],
      [[...base, '--tick', '0'], {}],
      [[...base, '--bitrate', '/x=64'], {}],
      [[...base, '--mount', '/a=bad key'], {}],
      [[...base, '--password', 'x'], {}],
    ];
    for (const [args, env] of cases) {
      expect(() => parseCollectIcecastArgs(args, { ...ENV, ...env }), args.join(' ')).toThrow(UsageError);
    }
  });

  it('gives its help', () => {
    expect(parseCollectIcecastArgs(['--help'], {} as Env).help).toBe(true);
  });
});
