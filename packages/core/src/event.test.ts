import { describe, expect, it } from 'vitest';
import { eventKey, parseBatch, parseEvent, parseTime } from './event.js';

const valid = {
  id: '0190a1b2-0000-7000-8000-000000000001',
  session: 's1',
  stream: 'main',
  output: 'hls',
  time: '2026-11-01T09:15:00.000Z',
  duration: 10,
  bytes: 307200,
};

describe('parseEvent', () => {
  it('normalizes an ISO time to epoch milliseconds', () => {
    const result = parseEvent(valid);
    expect(result).toEqual({ ok: true, event: { ...valid, time: Date.UTC(2026, 10, 1, 9, 15) } });
  });

  it('accepts epoch ms and drops empty optional strings', () => {
    const result = parseEvent({ ...valid, time: 1_793_000_000_000, listener: '', ua: 'VLC/3.0' });
    expect(result.ok && result.event).toMatchObject({ time: 1_793_000_000_000, ua: 'VLC/3.0' });
    expect(result.ok && 'listener' in result.event).toBe(false);
  });

  it('names every bad field with a reason, without throwing', () => {
    const result = parseEvent({
      session: '',
      output: 'rtmp',
      time: '2026-11-01 09:15',
      duration: -1,
      bytes: 1.5,
      extra: 1,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const fields = result.issues.map((i) => i.field).sort();
    expect(fields).toEqual(['bytes', 'duration', 'extra', 'output', 'session', 'stream', 'time']);
    for (const issue of result.issues) expect(issue.reason.length).toBeGreaterThan(3);
  });

  it('refuses a zoneless time, seconds instead of ms, and durations over a day', () => {
    expect(parseTime('2026-11-01T09:15:00').ok).toBe(false);
    expect(parseTime(1_793_000_000).ok).toBe(false);
    expect(parseTime(1_793_000_000_000.5).ok).toBe(false);
    expect(parseTime('2026-11-01T09:15:00+01:00')).toEqual({ ok: true, ms: Date.UTC(2026, 10, 1, 8, 15) });
    // Date.parse alone would roll these over into March and into the next day.
    expect(parseTime('2026-02-30T07:00:00Z').ok).toBe(false);
    expect(parseTime('2026-11-01T24:00:00Z').ok).toBe(false);
    expect(parseTime('2028-02-29T07:00:00Z').ok).toBe(true);
    expect(parseEvent({ ...valid, duration: 86_401 }).ok).toBe(false);
    expect(parseEvent({ ...valid, session: 'x'.repeat(129) }).ok).toBe(false);
    expect(parseEvent({ ...valid, session: 'x'.repeat(128) }).ok).toBe(true);
    // id and listener are index keys: 128 characters at most (a PostgreSQL btree entry holds 2704 bytes).
    expect(parseEvent({ ...valid, id: '界'.repeat(129) }).ok).toBe(false);
    expect(parseEvent({ ...valid, listener: 'x'.repeat(129) }).ok).toBe(false);
    expect(parseEvent({ ...valid, id: '界'.repeat(128), listener: '界'.repeat(128) }).ok).toBe(true);
  });

  it('refuses control characters, which no key or user agent has and PostgreSQL text cannot hold', () => {
    const result = parseEvent({ ...valid, session: 'a\u0000b', ua: 'x\ny' });
    expect(result).toEqual({
      ok: false,
      issues: [
        { field: 'session', reason: 'must not contain control characters' },
        { field: 'ua', reason: 'must not contain control characters' },
      ],
    });
  });

  it('rejects non-objects', () => {
    for (const bad of [null, 1, 'x', [valid]]) expect(parseEvent(bad).ok).toBe(false);
  });
});

describe('parseBatch', () => {
  it('lists each bad event by index and field, and returns no events', () => {
    const result = parseBatch([
      valid,
      { ...valid, bytes: -1 },
      valid,
      { ...valid, output: 'x', duration: 'ten' },
    ]);
    expect(result).toEqual({
      ok: false,
      issues: [
        { index: 1, field: 'bytes', reason: 'must be an integer >= 0' },
        { index: 3, field: 'output', reason: 'must be "shoutcast" or "hls"' },
        { index: 3, field: 'duration', reason: 'must be a number of seconds' },
      ],
    });
  });
});

describe('eventKey', () => {
  it('is the id when there is one, else the content', () => {
    const a = parseEvent(valid);
    const { id: _id, ...noId } = valid;
    const b = parseEvent(noId);
    const c = parseEvent({ ...noId, bytes: 1 });
    if (!a.ok || !b.ok || !c.ok) throw new Error('fixture');
    expect(eventKey(a.event)).toBe(valid.id);
    expect(eventKey(b.event)).not.toBe(eventKey(c.event));
    expect(eventKey(b.event)).toBe(eventKey({ ...b.event }));
    expect(eventKey(b.event)).not.toContain('\u0000');
  });
});
