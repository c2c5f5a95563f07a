import { describe, expect, it } from 'vitest';
import { loadEnv } from './env.js';

describe('loadEnv', () => {
  it('reads EARSHOT_TRUST_PROXY as a number of proxies', () => {
    expect(loadEnv({}).EARSHOT_TRUST_PROXY).toBe(0);
    expect(loadEnv({ EARSHOT_TRUST_PROXY: 'false' }).EARSHOT_TRUST_PROXY).toBe(0);
    expect(loadEnv({ EARSHOT_TRUST_PROXY: '0' }).EARSHOT_TRUST_PROXY).toBe(0);
    expect(loadEnv({ EARSHOT_TRUST_PROXY: 'true' }).EARSHOT_TRUST_PROXY).toBe(1);
    expect(loadEnv({ EARSHOT_TRUST_PROXY: 'TRUE' }).EARSHOT_TRUST_PROXY).toBe(1);
    expect(loadEnv({ EARSHOT_TRUST_PROXY: '1' }).EARSHOT_TRUST_PROXY).toBe(1);
    expect(loadEnv({ EARSHOT_TRUST_PROXY: '2' }).EARSHOT_TRUST_PROXY).toBe(2);
  });

  it('names a bad EARSHOT_TRUST_PROXY', () => {
    expect(() => loadEnv({ EARSHOT_TRUST_PROXY: 'yes' })).toThrow(/EARSHOT_TRUST_PROXY/);
    expect(() => loadEnv({ EARSHOT_TRUST_PROXY: '-1' })).toThrow(/EARSHOT_TRUST_PROXY/);
  });
});
