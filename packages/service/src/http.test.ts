import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { bearerAuth, tokenChecker } from './bearer.js';
import { httpError, jsonErrors } from './http-error.js';
import { healthApp } from './serve.js';
import { withTimeout } from './timeout.js';

describe('tokenChecker', () => {
  it('accepts only `Bearer <known token>`', () => {
    const check = tokenChecker(['secret-a', 'secret-b']);
    expect(check('Bearer secret-b')).toBe(true);
    expect(check('bearer  secret-a ')).toBe(true);
    expect(check('Bearer secret-c')).toBe(false);
    expect(check('secret-a')).toBe(false);
    expect(check('Basic secret-a')).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(tokenChecker([])('Bearer ')).toBe(false);
  });
});

describe('bearerAuth and jsonErrors', () => {
  it('answers 401 with the JSON body and challenge, and 500 without internals', async () => {
    const app = new Hono();
    app.onError(jsonErrors());
    app.use('/v1/*', bearerAuth({ tokens: ['t0k3n'], realm: 'test', body: (why) => ({ error: why }) }));
    app.get('/v1/ok', (c) => c.json({ ok: true }));
    app.get('/v1/teapot', () => {
      throw httpError(418, { error: 'teapot', where: 'here' });
    });
    app.get('/v1/boom', () => {
      throw new Error('secret detail');
    });
    const missing = await app.request('/v1/ok', { headers: { authorization: 't0k3n' } });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="test"');
    expect(await missing.json()).toEqual({ error: 'missing' });
    const unknown = await app.request('/v1/ok', { headers: { authorization: 'Bearer nope' } });
    expect(await unknown.json()).toEqual({ error: 'unknown' });
    const auth = { headers: { authorization: 'Bearer t0k3n' } };
    expect((await app.request('/v1/ok', auth)).status).toBe(200);
    const teapot = await app.request('/v1/teapot', auth);
    expect([teapot.status, await teapot.json()]).toEqual([418, { error: 'teapot', where: 'here' }]);
    const boom = await app.request('/v1/boom', auth);
    expect([boom.status, await boom.json()]).toEqual([500, { error: 'internal error' }]);
  });
});

describe('healthApp', () => {
  it('serves /healthz and /metrics, GET only', async () => {
    let ok = true;
    const app = healthApp({
      health: async () => ({ ok }),
      metrics: { contentType: 'text/plain', metrics: async () => 'up 1\n' },
    });
    expect((await app.request('/healthz')).status).toBe(200);
    ok = false;
    expect((await app.request('/healthz')).status).toBe(503);
    const metrics = await app.request('/metrics');
    expect([metrics.headers.get('content-type'), await metrics.text()]).toEqual(['text/plain', 'up 1\n']);
    expect((await app.request('/healthz', { method: 'POST' })).status).toBe(405);
    const missing = await app.request('/nope');
    expect([missing.status, await missing.json()]).toEqual([
      404,
      { error: 'not found', paths: ['/healthz', '/metrics'] },
    ]);
  });
});

describe('withTimeout', () => {
  it('rejects naming what timed out, and passes a settled value through', async () => {
    await expect(withTimeout(new Promise(() => {}), 10, 'redis ping')).rejects.toThrow(
      'redis ping timed out after 10 ms',
    );
    await expect(withTimeout(Promise.resolve(7), 1000)).resolves.toBe(7);
  });
});
