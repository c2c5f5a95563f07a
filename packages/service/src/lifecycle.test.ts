import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  EXIT_CODES,
  type RunningService,
  runService,
  type ServiceProcess,
} from './lifecycle.js';

const quiet = { info() {}, error() {}, fatal() {} };

function fakeProcess() {
  const listeners = new Map<string, () => void>();
  const codes: number[] = [];
  let stderr = '';
  let exited: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => {
    exited = resolve;
  });
  const proc: ServiceProcess = {
    on: (signal, listener) => listeners.set(signal, listener),
    exit: (code) => {
      codes.push(code);
      exited(code);
    },
    stderr: { write: (text: string) => (stderr += text) },
  };
  return { proc, codes, exit, signal: (s: string) => listeners.get(s)?.(), stderr: () => stderr };
}

const run = (
  p: ReturnType<typeof fakeProcess>,
  start: () => Promise<RunningService>,
  loadEnv: () => object = () => ({}),
  shutdownMs?: number,
) =>
  runService({
    name: 'earshot-test',
    loadEnv,
    createLogger: () => quiet,
    start,
    process: p.proc,
    shutdownMs,
  });

describe('runService', () => {
  it('exits 2 naming the program on a bad environment, before starting', async () => {
    const p = fakeProcess();
    let started = false;
    await run(
      p,
      async () => {
        started = true;
        return { close: async () => {} };
      },
      () => {
        throw new Error('invalid environment:\n  PORT: bad');
      },
    );
    expect(p.codes).toEqual([EXIT_CODES.config]);
    expect(p.stderr()).toBe('earshot-test: invalid environment:\n  PORT: bad\n');
    expect(started).toBe(false);
  });

  it('exits 1 when start fails, 2 when it refuses its configuration', async () => {
    const failed = fakeProcess();
    await run(failed, () => Promise.reject(new Error('no database')));
    expect(failed.codes).toEqual([EXIT_CODES.failed]);
    const refused = fakeProcess();
    await run(refused, () => Promise.reject(new ConfigError('other settings')));
    expect(refused.codes).toEqual([EXIT_CODES.config]);
  });

  it('closes on SIGTERM and exits 0; a failed close exits 1', async () => {
    const p = fakeProcess();
    let closed = 0;
    await run(p, async () => ({ close: async () => void closed++ }));
    expect(p.codes).toEqual([]);
    p.signal('SIGTERM');
    expect(await p.exit).toBe(EXIT_CODES.stopped);
    expect(closed).toBe(1);
    const q = fakeProcess();
    await run(q, async () => ({ close: () => Promise.reject(new Error('stuck')) }));
    q.signal('SIGINT');
    expect(await q.exit).toBe(EXIT_CODES.failed);
  });

  it('exits 1 at once on a second signal, and at the deadline when the close hangs', async () => {
    const p = fakeProcess();
    await run(p, async () => ({ close: () => new Promise<void>(() => {}) }));
    p.signal('SIGINT');
    p.signal('SIGINT');
    expect(p.codes).toEqual([EXIT_CODES.failed]);
    const q = fakeProcess();
    await run(q, async () => ({ close: () => new Promise<void>(() => {}) }), undefined, 50);
    q.signal('SIGTERM');
    expect(await q.exit).toBe(EXIT_CODES.failed);
  });
});
