import { eventKey, type ListenEvent } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { storedEventId, unstorableField } from './events.js';
import { eventPartitionName, utcDayOf } from './partitions.js';

const event = (over: Partial<ListenEvent> = {}): ListenEvent => ({
  session: 's',
  stream: 'rock',
  output: 'shoutcast',
  time: Date.UTC(2026, 10, 1, 9, 15),
  duration: 30,
  bytes: 1000,
  ...over,
});

describe('storedEventId', () => {
  it('is the event id when the event has one', () => {
    expect(storedEventId(event({ id: '0190abcd' }))).toBe('0190abcd');
  });

  it('has no U+0000, which PostgreSQL text cannot hold', () => {
    const id = storedEventId(event());
    expect(eventKey(event())).toContain('\u0000');
    expect(id).not.toContain('\u0000');
    expect(id.startsWith('~')).toBe(true);
  });

  it('keeps content keys distinct and in the same order as core', () => {
    const events = [
      event({ session: 'a' }),
      event({ session: 'a\u0001' }),
      event({ session: 'a\u0002' }),
      event({ session: 'ab' }),
      event({ session: 'a', stream: 'b\u0001c' }),
      event({ session: 'a', stream: 'b' }),
      event({ id: 'z' }),
      event({ id: '~s\u0001' }),
    ];
    const byCore = [...events].sort((x, y) =>
      eventKey(x) < eventKey(y) ? -1 : eventKey(x) > eventKey(y) ? 1 : 0,
    );
    const byStored = [...events].sort((x, y) =>
      storedEventId(x) < storedEventId(y) ? -1 : storedEventId(x) > storedEventId(y) ? 1 : 0,
    );
    expect(byStored).toEqual(byCore);
    expect(new Set(events.map(storedEventId)).size).toBe(events.length);
  });
});

describe('unstorableField', () => {
  it('names a text field holding U+0000', () => {
    expect(unstorableField(event({ ua: 'VLC\u0000' }))).toBe('ua');
    expect(unstorableField(event())).toBeUndefined();
  });
});

describe('partitions', () => {
  it('names a UTC day partition YYYYMMDD', () => {
    expect(eventPartitionName(utcDayOf(Date.UTC(2026, 10, 1, 23, 59, 59, 999)))).toBe(
      'listen_events_20261101',
    );
    expect(eventPartitionName(utcDayOf(Date.UTC(2026, 10, 2)))).toBe('listen_events_20261102');
  });
});
