import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * An HTTPException whose response is `body` as JSON: the one error path of the apps (throw it from a
 * handler; {@link jsonErrors} answers with it). Every 4xx body says what was wrong and where.
 */
export function httpError(
  status: ContentfulStatusCode,
  body: object,
  headers: Record<string, string> = {},
): HTTPException {
  return new HTTPException(status, {
    res: new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    }),
  });
}

/** The logger `jsonErrors` reports unexpected errors to (pino's shape). */
export interface ErrorLogger {
  error(obj: object, msg?: string): void;
}

/**
 * `app.onError` handler: an HTTPException answers with its own response; anything else is logged
 * and answered 500 `{ "error": "internal error" }`, which leaks nothing of it.
 */
export function jsonErrors(logger?: ErrorLogger): (error: Error, c: Context) => Response {
  return (error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    logger?.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  };
}
