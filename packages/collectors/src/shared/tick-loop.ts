/** A loop that runs `cycle` now and then just after every multiple of `tickMs` on the clock. */
export interface TickLoop {
  /** Stops after the cycle in flight. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs `cycle` at once, then `offsetMs` after each following tick boundary (a multiple of
 * `tickMs` since the epoch), one at a time; a failing cycle is reported to `onError` and the loop
 * goes on.
 */
export function startTickLoop(
  tickMs: number,
  cycle: () => Promise<unknown>,
  onError: (error: unknown) => void,
  offsetMs = 250,
): TickLoop {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const done = (async () => {
    while (!stopped) {
      try {
        await cycle();
      } catch (error) {
        onError(error);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, tickMs - (Date.now() % tickMs) + offsetMs);
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await done;
    },
  };
}
