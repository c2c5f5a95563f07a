import { describe, expect, it } from 'vitest';
import { isValidSessionId, newId, resolveSessionId } from './ids.js';

describe('resolveSessionId', () => {
  const make = () => 'new-id';

  it('prefers the X-Playback-Session-Id header to the query parameter', () => {
    expect(resolveSessionId({ sessionHeader: 'HEADER-1', query: 'session_id=query-1' }, make)).toEqual({
      session: 'HEADER-1',
      source: 'header',
    });
  });

  it('uses the session_id query parameter when there is no header', () => {
    expect(resolveSessionId({ sessionHeader: null, query: '?session_id=query-1&ua=x' }, make)).toEqual({
      session: 'query-1',
      source: 'query',
    });
    expect(resolveSessionId({ query: new URLSearchParams({ session_id: 'query-2' }) }, make).session).toBe(
      'query-2',
    );
  });

  it('makes a new id when neither is there, or neither is valid', () => {
    expect(resolveSessionId({}, make)).toEqual({ session: 'new-id', source: 'new' });
    expect(resolveSessionId({ sessionHeader: '', query: 'session_id=' }, make).source).toBe('new');
    expect(resolveSessionId({ sessionHeader: 'x'.repeat(129), query: 'session_id=a%20b' }, make).source).toBe(
      'new',
    );
  });

  it('never takes an id with control characters, from the header or the query', () => {
    expect(resolveSessionId({ sessionHeader: 'a\tb', query: 'session_id=c%09d' }, make).source).toBe('new');
    expect(resolveSessionId({ sessionHeader: 'a\u0000b', query: 'session_id=c%7Fd' }, make).source).toBe(
      'new',
    );
    expect(resolveSessionId({ query: `session_id=${'x'.repeat(128)}` }, make).source).toBe('query');
  });

  it('skips an invalid header and falls back to the query', () => {
    expect(resolveSessionId({ sessionHeader: 'has space', query: 'session_id=q' }, make).session).toBe('q');
  });

  it('makes UUIDv7 ids by default, in time order', () => {
    const a = resolveSessionId({}).session;
    const b = newId();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(isValidSessionId(a)).toBe(true);
  });
});
