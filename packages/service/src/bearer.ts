import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { httpError } from './http-error.js';

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** `Bearer <token>`, the scheme case-insensitive (RFC 7235); undefined when the header is not that. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : /^Bearer +(\S+)\s*$/i.exec(header)?.[1];
}

/**
 * Checks an `Authorization` header against every known token in constant time: the hashes make the
 * lengths equal, and every token is compared whatever matched first.
 */
export function tokenChecker(tokens: readonly string[]): (header: string | undefined) => boolean {
  const known = tokens.map(sha256);
  return (header) => {
    const presented = bearerToken(header);
    const digest = sha256(presented ?? '');
    let ok = false;
    for (const k of known) ok = timingSafeEqual(k, digest) || ok;
    return ok && presented !== undefined;
  };
}

export interface BearerAuthOptions {
  tokens: readonly string[];
  /** In `WWW-Authenticate: Bearer realm="..."`. */
  realm: string;
  /** The 401 body; `missing` when there was no bearer token at all, else `unknown`. */
  body(why: 'missing' | 'unknown'): object;
}

/**
 * Middleware that answers 401 (JSON, `WWW-Authenticate`) unless the request carries one of
 * `tokens`. Not hono's `bearerAuth`: that answers 400 to a header that is not `Bearer <token>`,
 * where these APIs answer 401 to every request without a valid token.
 */
export function bearerAuth(options: BearerAuthOptions): MiddlewareHandler {
  const check = tokenChecker(options.tokens);
  const challenge = { 'www-authenticate': `Bearer realm="${options.realm}"` };
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (!check(header)) {
      throw httpError(
        401,
        options.body(bearerToken(header) === undefined ? 'missing' : 'unknown'),
        challenge,
      );
    }
    await next();
  };
}
