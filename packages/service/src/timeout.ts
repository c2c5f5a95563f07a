/**
 * Settles like `promise`, or rejects with `<what> timed out after <ms> ms` if it has not within
 * `ms`. The timer is cleared either way. (`promise` itself goes on: abort it yourself if it can be.)
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
