import { describe, expect, it } from 'vitest';
import { FINALIZE_JOB, FINALIZE_JOB_MAX_SESSIONS, finalizeJobs, parseFinalizeJobData } from './queue.js';

describe('finalize jobs', () => {
  it('puts the session ids of one schedule call in as few jobs as the cap allows, each once', () => {
    const ids = Array.from({ length: FINALIZE_JOB_MAX_SESSIONS + 5 }, (_, i) => `s${i}`);
    const jobs = finalizeJobs([...ids, 's0', 's1'], 1500.2);
    expect(jobs.map((j) => j.data.sessions.length)).toEqual([FINALIZE_JOB_MAX_SESSIONS, 5]);
    expect(jobs.flatMap((j) => j.data.sessions)).toEqual(ids);
    expect(jobs[0]).toMatchObject({ name: FINALIZE_JOB, opts: { delay: 1501, removeOnComplete: true } });
    expect(finalizeJobs([], 0)).toEqual([]);
  });

  it('parses its payload and the one-id payload of earlier versions, and refuses anything else', () => {
    expect(parseFinalizeJobData({ sessions: ['a', 'b'] })).toEqual({ sessions: ['a', 'b'] });
    expect(parseFinalizeJobData({ session: 'a', retries: 2 })).toEqual({ sessions: ['a'], retries: 2 });
    for (const bad of [
      null,
      'a',
      { sessio: 'a' },
      { sessions: [] },
      { sessions: ['a', 3] },
      { sessions: ['x'.repeat(129)] },
      { sessions: Array.from({ length: FINALIZE_JOB_MAX_SESSIONS + 1 }, (_, i) => `s${i}`) },
    ])
      expect(parseFinalizeJobData(bad)).toBeUndefined();
  });
});
