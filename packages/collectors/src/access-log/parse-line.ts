// One access-log line -> the request facts the collector needs. Three layouts: `nginx` (the
// `earshot` log_format shipped in nginx/earshot.conf), `json` (its `earshot_json` twin, or any
// JSON-lines export with the same keys) and `combined` (the NCSA combined format of nginx, Apache
// and CDNs; Icecast's access log is combined plus the seconds connected at the end).

/** The log layouts the collector reads. */
export type AccessLogFormat = 'nginx' | 'combined' | 'json';

export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['nginx', 'combined', 'json'];

/** What one request line says. Absent facts are `undefined` (a logged `-` is absent). */
export interface AccessRecord {
  /** When the log line was written, epoch ms: nginx and Icecast write it when the response ended. */
  timeMs: number;
  ip?: string;
  method: string;
  /** The request target as sent: path and query (`/hls/32k/seg1.ts?session_id=x`). */
  target: string;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
  ua?: string;
  /** `X-Playback-Session-Id` request header. */
  sessionHeader?: string;
  /** `Content-Length` of the response (nginx `$sent_http_content_length`). */
  contentLength?: number;
  /** Full size from `Content-Range: bytes a-b/size` of a 206 response. */
  rangeTotal?: number;
  /** nginx `$request_completion`: `true` when logged `OK`, `false` when logged empty. */
  completed?: boolean;
  /** Icecast's last field: seconds the client was connected. */
  connectedS?: number;
}

export type ParseResult = { ok: true; record: AccessRecord } | { ok: false; reason: string };

/** Parses one line (without its line break) of the given format. */
export function parseAccessLine(line: string, format: AccessLogFormat): ParseResult {
  if (format === 'json') return parseJsonLine(line);
  const fields = splitFields(line);
  if (fields === undefined) return { ok: false, reason: 'unbalanced quotes or brackets' };
  return format === 'nginx' ? fromEarshotFields(fields) : fromCombinedFields(fields);
}

/**
 * Splits a log line into fields: runs of non-spaces, `"quoted"` (nginx escapes `"` inside as
 * `\x22`, Apache as `\"`) or `[bracketed]`. Quotes and brackets are removed.
 */
export function splitFields(line: string): string[] | undefined {
  const fields: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (c === 34 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = line.charCodeAt(j);
        if (d === 92 /* \ */) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 34) break;
        j++;
      }
      if (j >= n) return undefined;
      const raw = line.slice(i + 1, j);
      fields.push(escaped ? unescapeLogText(raw) : raw);
      i = j + 1;
    } else if (c === 91 /* [ */) {
      const j = line.indexOf(']', i + 1);
      if (j < 0) return undefined;
      fields.push(line.slice(i + 1, j));
      i = j + 1;
    } else {
      let j = i + 1;
      while (j < n && line.charCodeAt(j) !== 32 && line.charCodeAt(j) !== 9) j++;
      fields.push(line.slice(i, j));
      i = j;
    }
  }
  return fields;
}

// nginx writes bytes outside printable ASCII as \xHH (so UTF-8 comes as several), Apache \" and \\.
function unescapeLogText(raw: string): string {
  if (!raw.includes('\\x')) return raw.replace(/\\(["\\])/g, '$1');
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 92 && raw[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 2, i + 4))) {
      bytes.push(Number.parseInt(raw.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (c === 92 && (raw[i + 1] === '"' || raw[i + 1] === '\\')) {
      bytes.push(raw.charCodeAt(i + 1));
      i += 1;
    } else {
      for (const b of Buffer.from(raw[i] as string)) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function absent(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value === '-' ? undefined : value;
}

function integer(value: string | undefined): number | undefined {
  const text = absent(value);
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

// `bytes 0-10151/10152` -> 10152.
function rangeTotal(value: string | undefined): number | undefined {
  const text = absent(value);
  if (text === undefined) return undefined;
  const slash = text.lastIndexOf('/');
  return slash < 0 ? undefined : integer(text.slice(slash + 1));
}

// `GET /path?x HTTP/1.1` -> method and target.
function requestLine(value: string | undefined): { method: string; target: string } | undefined {
  if (value === undefined) return undefined;
  const first = value.indexOf(' ');
  if (first <= 0) return undefined;
  const second = value.indexOf(' ', first + 1);
  const target = second < 0 ? value.slice(first + 1) : value.slice(first + 1, second);
  if (target === '') return undefined;
  return { method: value.slice(0, first), target };
}

/**
 * The `earshot` log_format (nginx/earshot.conf):
 * `$msec $remote_addr "$request" $status $body_bytes_sent $request_time "$request_completion"
 * "$sent_http_content_length" "$sent_http_content_range" "$http_x_playback_session_id"
 * "$arg_session_id" "$http_user_agent"`.
 */
function fromEarshotFields(fields: string[]): ParseResult {
  if (fields.length < 12) return { ok: false, reason: `expected 12 fields, got ${fields.length}` };
  const timeMs = Math.round(Number(fields[0]) * 1000);
  if (!Number.isFinite(timeMs) || timeMs <= 0) return { ok: false, reason: 'bad $msec' };
  const request = requestLine(fields[2]);
  if (!request) return { ok: false, reason: 'bad request line' };
  const status = integer(fields[3]);
  if (status === undefined) return { ok: false, reason: 'bad status' };
  const completion = fields[6];
  return {
    ok: true,
    record: {
      timeMs,
      ip: absent(fields[1]),
      ...request,
      status,
      bytes: integer(fields[4]) ?? 0,
      completed: completion === 'OK' ? true : completion === '' || completion === '-' ? false : undefined,
      contentLength: integer(fields[7]),
      rangeTotal: rangeTotal(fields[8]),
      sessionHeader: absent(fields[9]),
      ua: absent(fields[11]),
    },
  };
}

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

/** `03/Dec/2026:06:15:09 +0000` (nginx `$time_local`, Apache `%t`, Icecast) -> epoch ms. */
export function parseCommonLogTime(value: string): number | undefined {
  const m = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))? ([+-])(\d{2})(\d{2})$/.exec(
    value,
  );
  if (!m) return undefined;
  const month = MONTHS[m[2] as string];
  if (month === undefined) return undefined;
  const local = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const ms = m[7] === undefined ? 0 : Number((m[7] as string).padEnd(3, '0'));
  const offsetMin = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  return local + ms - offsetMin * 60_000;
}

/**
 * NCSA combined: `ip ident user [time] "request" status bytes "referer" "agent"`, and Icecast's
 * access log, which adds the seconds the client was connected as the last field.
 */
function fromCombinedFields(fields: string[]): ParseResult {
  if (fields.length < 7) return { ok: false, reason: `expected at least 7 fields, got ${fields.length}` };
  const timeMs = parseCommonLogTime(fields[3] as string);
  if (timeMs === undefined) return { ok: false, reason: 'bad [time]' };
  const request = requestLine(fields[4]);
  if (!request) return { ok: false, reason: 'bad request line' };
  const status = integer(fields[5]);
  if (status === undefined) return { ok: false, reason: 'bad status' };
  const record: AccessRecord = {
    timeMs,
    ip: absent(fields[0]),
    ...request,
    status,
    bytes: integer(fields[6]) ?? 0,
    ua: absent(fields[8]),
  };
  const connected = fields.length >= 10 ? integer(fields[9]) : undefined;
  if (connected !== undefined) record.connectedS = connected;
  return { ok: true, record };
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? absent(value) : undefined;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const t = text(value);
  if (t === undefined) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The `earshot_json` log_format's keys (nginx/earshot.conf): `time` ($msec, seconds with ms, or
 * an ISO-8601 string), `ip`, `method`, `uri`, `status`, `bytes`, `completion`, `content_length`,
 * `content_range`, `session_header`, `ua`, and `connected_s` for a continuous stream.
 */
function parseJsonLine(line: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, reason: 'not an object' };
  const o = raw as Record<string, unknown>;
  const time = o.time;
  const seconds = num(time);
  const timeMs =
    seconds !== undefined
      ? Math.round(seconds * 1000)
      : typeof time === 'string'
        ? Date.parse(time)
        : Number.NaN;
  if (!Number.isFinite(timeMs) || timeMs <= 0) return { ok: false, reason: 'bad time' };
  const target = text(o.uri);
  if (target === undefined) return { ok: false, reason: 'no uri' };
  const status = num(o.status);
  if (status === undefined || !Number.isInteger(status)) return { ok: false, reason: 'bad status' };
  const completion = o.completion;
  const record: AccessRecord = {
    timeMs,
    ip: text(o.ip),
    method: text(o.method) ?? 'GET',
    target,
    status,
    bytes: Math.max(0, Math.round(num(o.bytes) ?? 0)),
    ua: text(o.ua),
    sessionHeader: text(o.session_header),
    contentLength: num(o.content_length),
    rangeTotal: rangeTotal(typeof o.content_range === 'string' ? o.content_range : undefined),
  };
  if (typeof completion === 'string') record.completed = completion === 'OK';
  const connected = num(o.connected_s);
  if (connected !== undefined) record.connectedS = connected;
  return { ok: true, record };
}
