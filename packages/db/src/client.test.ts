import { describe, expect, it } from 'vitest';
import { resolveDataDir } from './client.js';

describe('resolveDataDir', () => {
  it('puts the default ./.earshot where pnpm was run, not in the package pnpm --filter ran', () => {
    const env = { INIT_CWD: '/srv/earshot' };
    expect(resolveDataDir(undefined, env, '/srv/earshot/apps/all-in-one')).toBe('/srv/earshot/.earshot');
    expect(resolveDataDir('', env, '/srv/earshot/apps/all-in-one')).toBe('/srv/earshot/.earshot');
    // The CLI at the repo root lands on the same directory.
    expect(resolveDataDir(undefined, env, '/srv/earshot')).toBe('/srv/earshot/.earshot');
  });

  it('takes a relative EARSHOT_DATA_DIR from INIT_CWD too, and keeps an absolute one', () => {
    const env = { INIT_CWD: '/srv/earshot' };
    expect(resolveDataDir('data/db', env, '/srv/earshot/apps/ingest')).toBe('/srv/earshot/data/db');
    expect(resolveDataDir('../shared', env, '/srv/earshot/apps/ingest')).toBe('/srv/shared');
    expect(resolveDataDir('/var/lib/earshot', env, '/srv/earshot/apps/ingest')).toBe('/var/lib/earshot');
  });

  it('falls back to the working directory outside pnpm', () => {
    expect(resolveDataDir(undefined, {}, '/home/me')).toBe('/home/me/.earshot');
    expect(resolveDataDir('db', { INIT_CWD: '' }, '/home/me')).toBe('/home/me/db');
  });
});
