// The worker tests' own support; the test database, the stored tables and the event generator are
// @earshot/db/testing, shared with the db package's finalization tests.

export const REDIS_TEST_URL = process.env.EARSHOT_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';

/** Polls until `check` returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return check();
}
