import { describe, expect, it } from 'vitest';
import { parseCollectShoutcastArgs } from './collect-shoutcast.js';
import type { Env } from './env.js';
import { UsageError } from './errors.js';

const ENV = {
  EARSHOT_DNAS_ADMIN_PASSWORD: 'pw',
  EARSHOT_INGEST_TOKEN: 'token',
  EARSHOT_INGEST_URL: 'http://127.0.0.1:8081',
} as Env;

describe('earshot collect shoutcast arguments', () => {
  it('reads the DNAS, the stream id and key, the rest from the environment', () => {
    expect(
      parseCollectShoutcastArgs(
        ['--dnas-url', 'http://127.0.0.1:8000', '--sid', '2', '--stream', 'dnas-hi'],
        ENV,
      ),
    ).toMatchObject({
      url: 'http://127.0.0.1:8000',
      sid: 2,
      stream: 'dnas-hi',
      tickS: 30,
      password: 'pw',
      token: 'token',
    });
  });

  it('refuses what it cannot run with, as usage errors', () => {
    const base = ['--dnas-url', 'http://127.0.0.1:8000', '--stream', 's'];
    const cases: [string[], Partial<Env>][] = [
      [base, { EARSHOT_DNAS_ADMIN_PASSWORD: undefined }],
      [base, { EARSHOT_INGEST_TOKEN: undefined }],
      [['--dnas-url', 'http://127.0.0.1:8000'], {}],
      [['--stream', 's'], {}],
      [[...base, '--sid', '0'], {}],
      [[...base, '--tick', '1.5'], {}],
      [[...base, '--bitrate', 'x'], {}],
    ];
    for (const [args, env] of cases) {
      expect(() => parseCollectShoutcastArgs(args, { ...ENV, ...env }), args.join(' ')).toThrow(UsageError);
    }
  });
});
