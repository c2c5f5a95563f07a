import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnv } from './env.js';

describe('loadEnv', () => {
  it('refuses to start without ingest tokens, naming the variable', () => {
    expect(() => loadEnv({})).toThrow(/EARSHOT_INGEST_TOKENS: is required/);
    expect(() => loadEnv({ EARSHOT_INGEST_TOKENS: ' , ' })).toThrow(/EARSHOT_INGEST_TOKENS/);
  });

  it('names every bad variable in one error', () => {
    let message = '';
    try {
      loadEnv({
        EARSHOT_INGEST_TOKENS: 'a',
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        EARSHOT_LISTENER_SALT: 'short',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('PORT');
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('EARSHOT_LISTENER_SALT');
  });

  it('takes HOST and metrics tokens', () => {
    const env = loadEnv({ EARSHOT_INGEST_TOKENS: 'a', HOST: '0.0.0.0', EARSHOT_METRICS_TOKENS: 'm1, m2' });
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.EARSHOT_METRICS_TOKENS).toEqual(['m1', 'm2']);
    expect(() => loadEnv({ EARSHOT_INGEST_TOKENS: 'a', EARSHOT_QUEUE_MAX_EVENTS: '0' })).toThrow(
      /EARSHOT_QUEUE_MAX_EVENTS/,
    );
  });

  it('has the documented defaults', () => {
    const env = loadEnv({ EARSHOT_INGEST_TOKENS: 'a, b', INIT_CWD: '/srv/station' });
    expect(env).toMatchObject({
      EARSHOT_INGEST_TOKENS: ['a', 'b'],
      PORT: 8081,
      // Loopback unless exposed on purpose.
      HOST: '127.0.0.1',
      EARSHOT_METRICS_TOKENS: [],
      EARSHOT_MAX_BYTES_PER_S: 1_000_000,
      EARSHOT_QUEUE_MAX_EVENTS: 50_000,
      EARSHOT_QUEUE_MAX_BYTES: 64 * 1024 * 1024,
      EARSHOT_MAX_BODY_BYTES: 5 * 1024 * 1024,
      EARSHOT_MAX_BATCH: 10_000,
      EARSHOT_IDLE_S: 300,
      // Relative to where pnpm was run (INIT_CWD), as every app and the CLI resolve it.
      EARSHOT_DATA_DIR: resolve('/srv/station', '.earshot'),
      EARSHOT_GROUP_WINDOW_MS: 3,
      EARSHOT_MAX_EVENT_AGE_S: 7 * 86_400,
      EARSHOT_MAX_EVENT_AHEAD_S: 300,
      EARSHOT_MAX_BATCH_DAYS: 31,
      EARSHOT_COMMIT_TIMEOUT_MS: 10_000,
      EARSHOT_FINALIZE_QUEUE: 'earshot-finalize',
      EARSHOT_QUEUE_PREFIX: 'bull',
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
  });
});
