// @ts-check
// The reports API as the page uses it. The read token stays in localStorage and travels only in
// the Authorization header (never in an API URL), on the JSON calls and on the live feed alike.

/** @typedef {import('./assets/core.js').Report} Report */
/** @typedef {import('./assets/core.js').ReportConfig} ReportConfig */
/** @typedef {import('./assets/core.js').ReportSummary} ReportSummary */
/** @typedef {{ name: string, spec: string }} DaypartInfo */
/** @typedef {{ key: string, name: string, tz: string, streams: string[], dayparts: DaypartInfo[] }} StationInfo */
/**
 * GET /v1/streams: what the pickers offer.
 * @typedef {{
 *   streams: { stream: string, firstMinute: string, lastMinute: string }[],
 *   stations: StationInfo[],
 *   dayparts: DaypartInfo[],
 *   settings: { tz: string },
 * }} StreamsBody
 */
/**
 * GET /v1/dayparts: the summary of each daypart.
 * @typedef {{ config: ReportConfig, dayparts: { name: string, spec: string | null, summary: ReportSummary[] }[] }} DaypartsBody
 */
/** @typedef {{ label: string, fromS: number, toS: number | null, sessions: number, short: number }} HistogramBin */
/** @typedef {import('./assets/core.js').BreakdownDimension} BreakdownDimension */
/** @typedef {import('./assets/core.js').BreakdownRow} BreakdownRow */
/**
 * GET /v1/breakdowns, the parts the page draws: the histogram, and one table of summary figures per
 * dimension (the selected streams together; `class` only when gross).
 * @typedef {{ config: ReportConfig, histogram: HistogramBin[], groups: Partial<Record<BreakdownDimension, BreakdownRow[]>> }} BreakdownsBody
 */
/** GET /v1/tracks: the plays of the period with their audience, the songs and the ATH. @typedef {import('./assets/core.js').TrackReport} TrackReport */
/** @typedef {import('./assets/core.js').TrackPlay} TrackPlay */
/** @typedef {import('./assets/core.js').TrackSong} TrackSong */
/** People listening now (`listeners`) and the last minute's seconds / 60 (`listeningNow`). @typedef {{ stream: string, listeners: number, listeningNow: number }} LiveStream */
/** One event of /v1/live/stream. @typedef {{ at: string, windowS: number, gap: { idleS: number, gapFactor: number, gapSlackS: number }, streams: LiveStream[], total: number, totalListeningNow: number }} LiveSnapshot */

const TOKEN_KEY = 'earshot.readToken';
/** A feed that dropped is opened again after this long. */
const LIVE_RETRY_MS = 5000;

/**
 * The stored read token; a `?token=` in the address moves into storage and out of the address bar.
 * @returns {string | null}
 */
export function takeToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return localStorage.getItem(TOKEN_KEY);
}

/**
 * The text of an API error body: the parameter it names, else its error, else `fallback`.
 * @param {any} body parsed JSON, or null
 * @param {string} fallback
 */
const errorText = (body, fallback) =>
  body?.parameter ? `${body.parameter}: ${body.reason}` : body?.error || fallback;

/**
 * Splits complete Server-Sent Events off `buffer`: the data of each (its `data:` lines joined) and
 * the unfinished rest.
 * @param {string} buffer
 * @returns {{ events: string[], rest: string }}
 */
export function splitEvents(buffer) {
  const events = [];
  let rest = buffer;
  let end = rest.indexOf('\n\n');
  while (end >= 0) {
    events.push(
      rest
        .slice(0, end)
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n'),
    );
    rest = rest.slice(end + 2);
    end = rest.indexOf('\n\n');
  }
  return { events, rest };
}

/**
 * The API with one read token. A 401 forgets the stored token and calls `onRefused` (the page asks
 * for another one).
 * @param {{ token: string | null, onRefused: () => void }} options
 */
export function createClient({ token: initial, onRefused }) {
  let token = initial;
  let following = false;
  const authorization = () => `Bearer ${token}`;
  const refused = () => {
    localStorage.removeItem(TOKEN_KEY);
    onRefused();
  };

  /**
   * @param {string} path
   * @param {URLSearchParams} [params]
   * @returns {Promise<unknown>}
   */
  async function get(path, params) {
    const url = params ? `${path}?${params}` : path;
    const res = await fetch(url, { headers: { authorization: authorization() } });
    if (res.status === 401) {
      refused();
      throw new Error('unauthorized');
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(errorText(body, `${res.status} ${res.statusText}`));
    if (body === null) throw new Error(`${path}: not JSON`);
    return body;
  }

  return {
    hasToken: () => Boolean(token),
    /** @param {string} next */
    setToken(next) {
      token = next;
      localStorage.setItem(TOKEN_KEY, next);
    },
    streams: () => /** @type {Promise<StreamsBody>} */ (get('/v1/streams')),
    /** @param {URLSearchParams} params */
    report: (params) => /** @type {Promise<Report>} */ (get('/v1/report', params)),
    /** @param {URLSearchParams} params */
    dayparts: (params) => /** @type {Promise<DaypartsBody>} */ (get('/v1/dayparts', params)),
    /** @param {URLSearchParams} params */
    breakdowns: (params) => /** @type {Promise<BreakdownsBody>} */ (get('/v1/breakdowns', params)),
    /** @param {URLSearchParams} params */
    tracks: (params) => /** @type {Promise<TrackReport>} */ (get('/v1/tracks', params)),
    /**
     * A download of the API (a CSV or the SoundExchange TSV), the response as it came.
     * @param {string} url path and query, `/v1/...?...`
     */
    download: (url) => fetch(url, { headers: { authorization: authorization() } }),
    /**
     * The report as CSV, the response as it came (the caller reads the file name and the errors).
     * @param {URLSearchParams} params
     */
    csv: (params) => fetch(`/v1/report?${params}`, { headers: { authorization: authorization() } }),

    /**
     * Follows the live feed for good, calling `onSnapshot` with each snapshot and opening it again
     * after a drop; a second call while it runs does nothing. Server-Sent Events over fetch, so the
     * token goes in a header (EventSource cannot send one).
     * @param {(snapshot: LiveSnapshot) => void} onSnapshot
     */
    async followLive(onSnapshot) {
      if (following) return;
      following = true;
      for (;;) {
        try {
          const res = await fetch('/v1/live/stream', {
            headers: { authorization: authorization(), accept: 'text/event-stream' },
          });
          if (res.status === 401) {
            following = false;
            refused();
            return;
          }
          if (!res.ok || !res.body) throw new Error(`live: ${res.status}`);
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const { events, rest } = splitEvents(buffer + value);
            buffer = rest;
            for (const data of events) if (data) onSnapshot(JSON.parse(data));
          }
        } catch {
          // fall through to the retry
        }
        await new Promise((r) => setTimeout(r, LIVE_RETRY_MS));
      }
    },
  };
}
