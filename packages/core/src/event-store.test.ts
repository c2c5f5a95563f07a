import { describe, expect, it } from 'vitest';
import type { ListenEvent } from './event.js';
import { EventStore, packedEvents, packUuid, unpackUuid } from './event-store.js';
import { finalizeSessionId } from './sessions.js';

/** Listeners of two streams with ticks, pauses and repeats, in a scrambled order (seeded LCG). */
function station(): ListenEvent[] {
  let seed = 5;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const events: ListenEvent[] = [];
  const start = Date.UTC(2026, 10, 3, 11);
  for (let s = 0; s < 40; s++) {
    let t = start + Math.floor(random() * 3600_000);
    const ticks = 1 + Math.floor(random() * 60);
    for (let i = 0; i < ticks; i++) {
      t += random() < 0.05 ? 400_000 : 30_000;
      const hex = (events.length + 1).toString(16).padStart(12, '0');
      events.push({
        id: random() < 0.9 ? `0190a1b2-0000-7000-8000-${hex}` : `other-${events.length}`,
        session: `s${s}`,
        stream: s % 3 ? 'main-mp3' : 'main-64k',
        output: s % 3 ? 'shoutcast' : 'hls',
        time: t,
        duration: random() < 0.1 ? 0 : 30,
        bytes: 240_000,
        ...(s % 4 ? { listener: `L${s % 7}` } : {}),
      });
    }
  }
  const repeated = [...events, ...events.filter(() => random() < 0.1)];
  for (let i = repeated.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [repeated[i], repeated[j]] = [repeated[j]!, repeated[i]!];
  }
  return repeated;
}

const base: ListenEvent = {
  session: 's',
  stream: 'main-64k',
  output: 'hls',
  time: 1_793_700_030_000,
  duration: 10,
  bytes: 83_000,
};

/** An event as core sees it: every field it reads, the duration in ms, the id as a string. */
const plain = (e: ListenEvent) => ({
  session: e.session,
  stream: e.stream,
  output: e.output,
  time: e.time,
  durationMs: Math.round(e.duration * 1000),
  bytes: e.bytes,
  id: e.id,
  listener: e.listener,
});

describe('EventStore', () => {
  it('packs lowercase UUIDs exactly and refuses anything else', () => {
    const words = new Uint32Array(4);
    for (const id of [
      '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      '00000000-0000-0000-0000-000000000000',
    ]) {
      expect(packUuid(id, words, 0)).toBe(true);
      expect(unpackUuid(words, 0)).toBe(id);
    }
    for (const id of [
      '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B',
      '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b',
      '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5',
      'x190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    ]) {
      expect(packUuid(id, words, 0)).toBe(false);
    }
  });

  it('gives back every field core reads, ids included, whatever their form', () => {
    const events: ListenEvent[] = [
      { ...base, id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', listener: 'l1' },
      { ...base, session: 't', time: base.time + 5_000, id: 'other-session' },
      {
        ...base,
        time: base.time + 10_000,
        id: '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B',
        stream: 'main-128k',
        bytes: 2 ** 40,
      },
      {
        ...base,
        time: base.time + 20_000,
        id: 'batch-7/12',
        duration: 9.9995,
        output: 'shoutcast',
        listener: 'l2',
      },
      { ...base, time: base.time + 30_000, duration: 0, listener: 'l2' },
      { ...base, time: base.time + 40_000, id: 'ffffffff-ffff-ffff-ffff-ffffffffffff', duration: 86_400 },
    ];
    const store = new EventStore();
    for (const event of events) store.add(event);
    expect(store.size).toBe(6);
    expect(store.events('s').map(plain)).toEqual(events.filter((e) => e.session === 's').map(plain));
    expect(store.events('t').map(plain)).toEqual([plain(events[1]!)]);
    expect(store.events('none')).toEqual([]);
  });

  it('grows, and exports a session id whole for another thread', () => {
    const a = new EventStore();
    const b = new EventStore();
    const nth = (i: number): ListenEvent => ({
      ...base,
      time: base.time + i * 10_000,
      ...(i % 2 ? { id: `id-${i}` } : {}),
      listener: `l${i % 4}`,
    });
    for (let i = 0; i < 5000; i++) (i % 3 === 0 ? a : b).add(nth(i));
    // Threads receive a structured clone; the runtime has one (core's own types do not name it).
    const clone = (globalThis as unknown as { structuredClone: <T>(value: T) => T }).structuredClone;
    const exported = clone(b.export('s'));
    const back = [...a.events('s'), ...packedEvents(exported)].map(plain).sort((x, y) => x.time - y.time);
    expect(back).toEqual(Array.from({ length: 5000 }, (_, i) => plain(nth(i))));
    expect(b.export('none').n).toBe(0);
  });

  it('finalizes to what core finalizes from the original events', () => {
    const settings = { idleS: 300, maxSessionS: 86_400, minSessionS: 60 };
    const events = station();
    const store = new EventStore();
    for (const event of events) store.add(event);
    const byId = new Map<string, ListenEvent[]>();
    for (const event of events) byId.set(event.session, [...(byId.get(event.session) ?? []), event]);
    expect(store.sessions.size).toBe(byId.size);
    for (const [id, own] of byId)
      expect(finalizeSessionId(store.events(id), settings)).toEqual(finalizeSessionId(own, settings));
  });
});
