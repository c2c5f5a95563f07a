/**
 * The Shoutcast tick to run with a session idle of `idleS`: `tickS` as asked, or `idleS / 2` when
 * that is shorter. A connection's consecutive events come a tick apart, and events `idle` or more
 * apart fall into two sessions (DESIGN section 3): a tick at or above idle would split every MP3
 * listen into tick-long sessions, none long enough to count. Half of idle leaves room for a late
 * timer and a busy event loop.
 */
export function tickWithinIdle(tickS: number, idleS: number): { tickS: number; lowered: boolean } {
  if (!(tickS > 0) || !(idleS > 0)) throw new RangeError('tickS and idleS must be > 0');
  const most = idleS / 2;
  return tickS > most ? { tickS: most, lowered: true } : { tickS, lowered: false };
}
