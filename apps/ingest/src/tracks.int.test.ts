import { createDb } from '@earshot/db';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { makeTracks, openPostgres, post, TOKEN } from '../test/helpers.js';
import { describeTracksRoute } from '../test/tracks-suite.js';
import { createApp } from './app.js';

describeTracksRoute('PostgreSQL', openPostgres);

describe('POST /v1/tracks without a database', () => {
  it('answers 503 with Retry-After when the database is down, and acknowledges nothing', async () => {
    const down = await createDb({
      url: 'postgres://postgres@127.0.0.1:1/nowhere',
      migrate: false,
      connectTimeoutS: 2,
    });
    const broken = createApp({ db: down, tokens: [TOKEN], idleS: 300, logger: pino({ level: 'silent' }) });
    const res = await post(broken.app, makeTracks(2, 'down'), { path: '/v1/tracks' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({
      error: 'the track store did not commit; retry later (a retry stores nothing twice)',
    });
    await broken.drain();
    await down.close();
  });
});
