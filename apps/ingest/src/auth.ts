import { createHash, timingSafeEqual } from 'node:crypto';

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Checks an `Authorization: Bearer <token>` header against every known token in constant time
 * (hashes make the lengths equal, and every token is compared whatever matched first). The one
 * token check of ingest: POST /v1/events and GET /metrics both use it.
 */
export function tokenChecker(tokens: readonly string[]): (header: string | undefined) => boolean {
  const known = tokens.map(sha256);
  return (header) => {
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const presented = sha256(match?.[1] ?? '');
    let ok = false;
    for (const k of known) ok = timingSafeEqual(k, presented) || ok;
    return ok && match !== null;
  };
}
