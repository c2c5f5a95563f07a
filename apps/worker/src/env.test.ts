import { describe, expect, it } from 'vitest';
import { loadWorkerEnv } from './env.js';

describe('loadWorkerEnv', () => {
  it('applies the defaults of DESIGN section 8 and the worker', () => {
    const env = loadWorkerEnv({});
    expect(env).toMatchObject({
      EARSHOT_IDLE_S: 300,
      EARSHOT_MIN_SESSION_S: 60,
      EARSHOT_MAX_SESSION_S: 86_400,
      EARSHOT_SWEEP_S: 60,
      PORT: 8082,
      EARSHOT_WORKER_CONCURRENCY: 500,
      EARSHOT_FINALIZE_QUEUE: 'earshot-finalize',
    });
    expect(env.REDIS_URL).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    let message = '';
    try {
      loadWorkerEnv({ EARSHOT_IDLE_S: 'soon', REDIS_URL: 'http://x', EARSHOT_WORKER_CONCURRENCY: '0' });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of ['EARSHOT_IDLE_S', 'REDIS_URL', 'EARSHOT_WORKER_CONCURRENCY'])
      expect(message).toContain(name);
  });
});
