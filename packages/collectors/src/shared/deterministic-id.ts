import { createHash } from 'node:crypto';

/**
 * An event id derived from what the source says about the event (server, client id, tick...):
 * the same parts always give the same id, so a restarted collector or a re-read log adds nothing
 * (ingest is idempotent on id and time). Shaped as a UUID (version 8, RFC 9562's custom version)
 * whose 122 free bits are the first bits of SHA-256 of the parts.
 */
export function deterministicId(...parts: readonly (string | number)[]): string {
  const hex = createHash('sha256').update(parts.map(String).join('\u001f')).digest('hex');
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A short hex digest of the parts, for keys that must stay short (`length` hex characters). */
export function shortHash(length: number, ...parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.map(String).join('\u001f')).digest('hex').slice(0, length);
}
