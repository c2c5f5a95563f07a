import { describe, expect, it } from 'vitest';
import { liveBytePosition, liveMp3Body, loopSlice } from './mp3.js';

describe('loopSlice', () => {
  it('reads an endless loop from any absolute position', () => {
    const data = new Uint8Array([0, 1, 2, 3, 4]);
    expect([...loopSlice(data, 3, 7)]).toEqual([3, 4, 0, 1, 2, 3, 4]);
    expect([...loopSlice(data, 12, 2)]).toEqual([2, 3]);
  });
});

describe('liveMp3Body', () => {
  it('starts every listener a burst behind the shared live position, then keeps pace with the clock', async () => {
    const mp3 = new Uint8Array(8000 * 10).map((_, i) => i % 251);
    let nowMs = 1_790_000_000_000;
    const body = liveMp3Body({ mp3, bitrateKbps: 64, now: () => nowMs, burstS: 2, paceMs: 5 });
    const reader = body.getReader();
    const first = await reader.read();
    // 64 kbit/s = 8000 bytes/s: the first read is the 2 s burst, starting 16 000 bytes behind live.
    expect(first.value?.byteLength).toBe(16_000);
    const live = liveBytePosition(nowMs, 64);
    expect(first.value?.[0]).toBe(mp3[(live - 16_000) % mp3.byteLength]);
    const pending = reader.read();
    nowMs += 250;
    expect((await pending).value?.byteLength).toBe(2000);
    await reader.cancel();
  });
});
