import type { FinalizeOutcome } from '@earshot/db';
import { describe, expect, it } from 'vitest';
import { FinalizeBatcher } from './batcher.js';

const current = (session: string): FinalizeOutcome => ({ session, status: 'current' });
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('FinalizeBatcher', () => {
  it('groups the ids asked for while a transaction is in flight into the next one', async () => {
    const calls: string[][] = [];
    let release: () => void = () => {};
    const batcher = new FinalizeBatcher(
      async (ids) => {
        calls.push(ids);
        if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return ids.map(current);
      },
      { maxBatch: 100, maxInFlight: 1 },
    );
    const first = batcher.finalize('a');
    await tick();
    const rest = ['b', 'c', 'd'].map((id) => batcher.finalize(id));
    await tick();
    expect(calls).toEqual([['a']]);
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['a', 'b', 'c', 'd'].map(current));
    expect(calls).toEqual([['a'], ['b', 'c', 'd']]);
    expect(batcher.busy).toBe(false);
  });

  it('keeps batches within maxBatch and transactions within maxInFlight', async () => {
    let inFlight = 0;
    let most = 0;
    const sizes: number[] = [];
    const batcher = new FinalizeBatcher(
      async (ids) => {
        inFlight++;
        most = Math.max(most, inFlight);
        sizes.push(ids.length);
        await tick();
        inFlight--;
        return ids.map(current);
      },
      { maxBatch: 7, maxInFlight: 2 },
    );
    const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const outcomes = await Promise.all(ids.map((id) => batcher.finalize(id)));
    expect(outcomes.map((o) => o.session)).toEqual(ids);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(50);
    expect(most).toBe(2);
  });

  it('answers every job of one id from one finalization, and fails the whole batch together', async () => {
    let calls = 0;
    const batcher = new FinalizeBatcher(
      async (ids) => {
        calls++;
        if (ids.includes('bad')) throw new Error('database down');
        return ids.map(current);
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const [x, y] = await Promise.all([batcher.finalize('same'), batcher.finalize('same')]);
    expect(x).toEqual(current('same'));
    expect(y).toBe(x);
    expect(calls).toBe(1);
    const results = await Promise.allSettled([batcher.finalize('bad'), batcher.finalize('ok')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
