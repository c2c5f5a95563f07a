import type { ListenEvent } from '@earshot/core';
import { describe, expect, it } from 'vitest';
import { unstorableField } from './events.js';
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
