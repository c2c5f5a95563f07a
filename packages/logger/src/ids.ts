import { v7 } from 'uuid';

/** A new UUIDv7: time-ordered, so event and session ids sort by creation time. */
export function newId(): string {
  return v7();
}

/** Longest session id, in characters (the listen-event contract's limit for `session`). */
export const MAX_SESSION_ID_LENGTH = 128;

// Visible ASCII only: a session id travels in URLs and logs, and a player-supplied one is untrusted.
const SESSION_ID = /^[\x21-\x7e]{1,128}$/;

/** Whether a client-supplied session id is usable as is (1..128 visible ASCII characters). */
export function isValidSessionId(value: string | null | undefined): value is string {
  return typeof value === 'string' && SESSION_ID.test(value);
}

/** Where a session id came from. */
export type SessionSource = 'header' | 'query' | 'new';

/**
 * Picks a request's session id: the `X-Playback-Session-Id` header if present and valid, else the
 * `session_id` query parameter, else a new UUIDv7 (DESIGN section 2). Invalid values are skipped,
 * never trusted.
 */
export function resolveSessionId(
  facts: { sessionHeader?: string | null; query?: URLSearchParams | string | null },
  makeId: () => string = newId,
): { session: string; source: SessionSource } {
  const header = facts.sessionHeader?.trim();
  if (isValidSessionId(header)) return { session: header, source: 'header' };
  const fromQuery = toSearchParams(facts.query)?.get('session_id');
  if (isValidSessionId(fromQuery)) return { session: fromQuery, source: 'query' };
  return { session: makeId(), source: 'new' };
}

/** Reads a query given as `URLSearchParams`, `?a=b` or `a=b`. */
export function toSearchParams(
  query: URLSearchParams | string | null | undefined,
): URLSearchParams | undefined {
  if (query === null || query === undefined) return undefined;
  return typeof query === 'string'
    ? new URLSearchParams(query.startsWith('?') ? query.slice(1) : query)
    : query;
}
