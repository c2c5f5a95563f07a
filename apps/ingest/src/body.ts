import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';

const gunzip = promisify(gunzipCb);

/** Why a body was refused, with the HTTP status it maps to. */
export class BodyError extends Error {
  override name = 'BodyError';
  readonly status: 400 | 413 | 415;
  readonly issues: { index: number; field: string; reason: string }[];
  constructor(
    status: 400 | 413 | 415,
    message: string,
    issues: { index: number; field: string; reason: string }[] = [],
  ) {
    super(message);
    this.status = status;
    this.issues = issues;
  }
}

export type BodyFormat = 'json' | 'ndjson';

/** The body format named by a Content-Type header, or undefined when it is not one we take. */
export function bodyFormatOf(contentType: string | undefined): BodyFormat | undefined {
  const mime = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (mime === 'application/json') return 'json';
  if (mime === 'application/x-ndjson' || mime === 'application/ndjson' || mime === 'application/jsonl')
    return 'ndjson';
  return undefined;
}

/** Whether a Content-Encoding header means gzip; throws 415 for encodings we do not take. */
export function isGzip(contentEncoding: string | undefined): boolean {
  const enc = contentEncoding?.trim().toLowerCase();
  if (!enc || enc === 'identity') return false;
  if (enc === 'gzip' || enc === 'x-gzip') return true;
  throw new BodyError(415, `Content-Encoding ${enc} is not supported; send gzip or no encoding`);
}

const tooLarge = (max: number) => new BodyError(413, `body is larger than ${max} bytes`);

function readIncoming(incoming: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        incoming.resume(); // discard the rest; the 413 goes out with Connection: close
        reject(tooLarge(max));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(new Error('request aborted'));
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}

async function readStream(body: ReadableStream<Uint8Array> | null, max: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Reads a request body of at most `max` bytes (413 beyond), from the Node request when running on
 * @hono/node-server (no Web-stream detour on the hot path), else from the Fetch Request. A gzip body
 * is inflated, again to at most `max` bytes, so a small bomb cannot take the memory.
 */
export async function readBody(
  request: Request,
  incoming: IncomingMessage | undefined,
  max: number,
  gzip: boolean,
): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > max) throw tooLarge(max);
  const raw = incoming ? await readIncoming(incoming, max) : await readStream(request.body, max);
  if (!gzip) return raw;
  try {
    return await gunzip(raw, { maxOutputLength: max });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new BodyError(413, `body is larger than ${max} bytes once inflated`);
    }
    throw new BodyError(400, 'body is not valid gzip');
  }
}

/**
 * Parses a body into the raw items of a batch: a JSON array, or NDJSON (one event per non-blank
 * line; a line that is not JSON is reported with its event index). Refuses more than `maxBatch`
 * items with 413.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseItems(
  body: Buffer,
  format: BodyFormat,
  maxBatch: number,
  what = 'listen events',
): unknown[] {
  let text: string;
  try {
    // Fatal: invalid UTF-8 is refused rather than stored as U+FFFD (a different id or session).
    text = utf8.decode(body);
  } catch {
    throw new BodyError(400, 'body is not valid UTF-8');
  }
  let items: unknown[];
  if (format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new BodyError(400, `body is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(value)) throw new BodyError(400, `body must be a JSON array of ${what}`);
    items = value;
  } else {
    items = [];
    const issues: { index: number; field: string; reason: string }[] = [];
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end).trim();
      start = end + 1;
      if (line === '') continue;
      if (items.length >= maxBatch) throw new BodyError(413, `batch has more than ${maxBatch} events`);
      try {
        items.push(JSON.parse(line));
      } catch (err) {
        issues.push({
          index: items.length,
          field: '',
          reason: `is not valid JSON: ${(err as Error).message}`,
        });
        items.push(undefined);
      }
    }
    if (issues.length > 0) throw new BodyError(400, 'invalid NDJSON', issues);
  }
  if (items.length > maxBatch)
    throw new BodyError(413, `batch has ${items.length} events; at most ${maxBatch} are accepted`);
  return items;
}
