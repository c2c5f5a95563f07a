import { REPORT_COLUMNS } from '@earshot/core';
import { PERIOD_PARAMETERS } from './params.js';

const periodParameterDocs: Record<
  (typeof PERIOD_PARAMETERS)[number],
  { description: string; schema: object }
> = {
  from: {
    description:
      'Period start (inclusive): ISO-8601 with a zone, or a local date/date-time read in `tz`. Default: the start of the first quarter-hour with data (of the selected streams), as the offline report does; when that makes the period longer than 400 days the answer is a 400 naming `from` (give the period).',
    schema: { type: 'string', examples: ['2026-11-01', '2026-11-01T06:00', '2026-11-01T11:00:00Z'] },
  },
  to: {
    description:
      'Period end (exclusive), same forms as `from`. Default: the end of the last quarter-hour with data (a 400 naming `to` when that is over 400 days after `from`). At most 400 days after `from`.',
    schema: { type: 'string' },
  },
  tz: {
    description: "IANA time zone of the report. Default: the station's, else EARSHOT_TZ.",
    schema: { type: 'string', examples: ['America/New_York'] },
  },
  daypart: {
    description:
      "A daypart name (`AM drive`, a station's own) or spec (`Mon-Fri 06:00-10:00`): only quarter-hours (and minutes) whose local start falls in it.",
    schema: { type: 'string' },
  },
  stream: {
    description: 'Only sessions of these stream keys (repeatable).',
    schema: { type: 'array', items: { type: 'string' } },
  },
  station: {
    description:
      'A configured station: its streams reported as one stream with the station key, in its zone, with its dayparts.',
    schema: { type: 'string' },
  },
  idle: {
    description: 'Must equal EARSHOT_IDLE_S (sessions are cut by the worker); any other value is a 400.',
    schema: { type: 'number' },
  },
  minSession: {
    description: 'Must equal EARSHOT_MIN_SESSION_S; any other value is a 400.',
    schema: { type: 'number' },
  },
  maxSession: {
    description: 'Must equal EARSHOT_MAX_SESSION_S; any other value is a 400.',
    schema: { type: 'number' },
  },
  aqhQualifier: {
    description:
      'Seconds a session needs in a quarter-hour to count in its audience (0..900). Default EARSHOT_AQH_QUALIFIER_S.',
    schema: { type: 'number' },
  },
  gross: {
    description:
      '`true`: every counted session, bots, relays and monitors too (gross). Default `false`: humans only (net, as the IAB and Triton report). `config.basis` says which; the summary counts the excluded sessions by reason either way.',
    schema: { type: 'string', enum: ['true', 'false'] },
  },
  by: {
    description:
      'Also break the summary figures of the selected streams down by this dimension: the report gains `breakdown` (and `part=breakdown` in CSV).',
    schema: { type: 'string', enum: ['country', 'device', 'os', 'player', 'output', 'class'] },
  },
  leftRunning: {
    description:
      'Listening (seconds) from which a session looks like a stream left running: counted apart in the summary (`leftRunning`), not removed. Default 28800 (8 h).',
    schema: { type: 'number' },
  },
};

const periodParameters = PERIOD_PARAMETERS.map((name) => ({
  name,
  in: 'query',
  required: false,
  ...(name === 'stream' ? { style: 'form', explode: true } : {}),
  ...periodParameterDocs[name],
}));

const error = {
  description: 'A bad parameter: the body names it.',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['error', 'parameter', 'reason'],
        properties: { error: { type: 'string' }, parameter: { type: 'string' }, reason: { type: 'string' } },
      },
    },
  },
};

const config = {
  type: 'object',
  description: 'The settings that shaped the response (DESIGN section 7).',
  required: ['from', 'to', 'tz', 'daypart', 'idle', 'minSession', 'aqhQualifier', 'maxSession'],
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    tz: { type: 'string' },
    daypart: { type: ['string', 'null'] },
    idle: { type: 'number' },
    minSession: { type: 'number' },
    aqhQualifier: { type: 'number' },
    maxSession: { type: 'number' },
  },
};

const summary = {
  type: 'object',
  properties: Object.fromEntries(
    REPORT_COLUMNS.summary.filter((k) => k !== 'stream').map((k) => [k, { type: 'number' }]),
  ),
};

const unauthorized = { description: 'Missing or unknown bearer token (read scope).' };

/** The OpenAPI 3.1 description of the reports API. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Earshot reports',
    version: '0.1.0',
    description:
      'Listener analytics for internet radio: the section 7 report (sessions, minutes, quarter-hours, AQH, cume, TLH, ATSL) from the database, live listeners, breakdowns and dayparts. Every figure is over counted sessions; every response states the settings that shaped it.',
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A token of EARSHOT_READ_TOKENS.' },
    },
    schemas: { Config: config, Summary: summary },
  },
  security: [{ bearer: [] }],
  paths: {
    '/v1/report': {
      get: {
        summary: 'The report (DESIGN section 7), as JSON or one part as CSV',
        parameters: [
          ...periodParameters,
          {
            name: 'format',
            in: 'query',
            schema: { enum: ['json', 'csv'] },
            description:
              'Default json, or csv when Accept prefers text/csv to application/json (q-values honoured: `text/csv;q=0` refuses it).',
          },
          {
            name: 'part',
            in: 'query',
            schema: { enum: ['summary', 'sessions', 'minutes', 'quarterHours'] },
            description: 'CSV: which part (default summary). A 400 with JSON.',
          },
          {
            name: 'parts',
            in: 'query',
            schema: { type: 'string' },
            description:
              'JSON: comma-separated parts to compute (default all); the others come back empty. A 400 with CSV (use `part`).',
          },
        ],
        responses: {
          200: {
            description:
              'The report. Header `Earshot-Config` repeats `config` (also on CSV). A CSV comes as an attachment whose file name carries the config: `earshot-PART[-STATION|STREAMS]-FROM_TO-ZONE[-DAYPART]-aqhNs.csv`, FROM and TO in local time of the zone (TO exclusive).',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['config', 'sessions', 'minutes', 'quarterHours', 'summary'],
                  properties: {
                    config: { $ref: '#/components/schemas/Config' },
                    sessions: { type: 'array' },
                    minutes: { type: 'array' },
                    quarterHours: { type: 'array' },
                    summary: { type: 'array', items: { $ref: '#/components/schemas/Summary' } },
                    station: { type: 'object', description: 'Present with `station=`.' },
                  },
                },
              },
              'text/csv': { schema: { type: 'string' } },
            },
          },
          400: error,
          401: unauthorized,
        },
      },
    },
    '/v1/dayparts': {
      get: {
        summary: "Summary per daypart: all hours, the default dayparts and the station's",
        parameters: periodParameters.filter((p) => p.name !== 'daypart'),
        responses: {
          200: { description: '`{ config, dayparts: [{ name, spec, summary }] }`' },
          400: error,
          401: unauthorized,
        },
      },
    },
    '/v1/breakdowns': {
      get: {
        summary:
          'Session-length histogram, this period vs a week earlier, and the summary figures by country, device, OS, player and output',
        parameters: periodParameters,
        responses: {
          200: {
            description:
              '`{ config, basis, station?, histogram: [{ label, fromS, toS, sessions, short }], comparison: { current, previous, streams: [{ stream, current, previous, delta }] }, groups: { country, device, os, player, output, class? } }`. Each `groups` table holds the summary figures (AQH, TLH, cume, active sessions...) of the selected streams together per value of the dimension (`class` only when gross). The histogram counts sessions that start in the period; the first bin, `short (< minSession s)`, holds the short sessions (tune-outs), the others the counted sessions by listening time.',
          },
          400: error,
          401: unauthorized,
        },
      },
    },
    '/v1/tracks': {
      get: {
        summary: 'Track figures (DESIGN 9): plays with their audience, songs, aggregate tuning hours',
        description:
          "From the stored track events (POST /v1/tracks on ingest) and the raw events of the stored sessions of the period, by core's buildTrackReport: equal to `earshot report --events E --tracks T` on the same events. Raw events are kept for the retention's days; a period older than that has no listeners left to count. `performanceMin` (seconds, default 0: any listening, as SoundExchange counts) sets what makes a performance. Net by default (`gross=true`: every session).",
        parameters: [
          ...periodParameters,
          { name: 'performanceMin', in: 'query', required: false, schema: { type: 'number' } },
          { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'csv'] } },
          {
            name: 'part',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['plays', 'songs', 'ath'] },
          },
        ],
        responses: {
          200: {
            description:
              '`{ config, plays: [{ ...track, start, end, listenersAtStart, performances, tlh, tuneOuts, tuneOutRate, expectedTuneOutRate, tuneOutIndex, daypart }], songs: [{ key, artist, title, isrc?, plays, performances, tlh, tuneOuts, tuneOutIndex }], ath: [{ stream, month, hours }] }`, or one part as CSV.',
          },
          400: error,
          401: unauthorized,
        },
      },
    },
    '/v1/soundexchange': {
      get: {
        summary: "SoundExchange report of use (census: each song's actual total performances), tab-separated",
        parameters: [
          ...periodParameters,
          { name: 'service', in: 'query', required: true, schema: { type: 'string' } },
          {
            name: 'category',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['A', 'B', 'C', 'H', 'I', 'J', 'K', 'L'] },
          },
        ],
        responses: {
          200: {
            description:
              'Header row NAME_OF_SERVICE, TRANSMISSION_CATEGORY, FEATURED_ARTIST, SOUND_RECORDING_TITLE, ISRC, ALBUM_TITLE, MARKETING_LABEL, ACTUAL_TOTAL_PERFORMANCES, then one row per sound recording (music) played in [from, to).',
          },
          400: error,
          401: unauthorized,
        },
      },
    },
    '/v1/live': {
      get: {
        summary:
          'People listening now per session stream: sessions whose next event is still expected, from raw events (refreshed every 5 s)',
        description:
          "A session is live while its last event is at most min(idle, gapFactor x its duration + gapSlackS) old (`gap`): the tick for Shoutcast, the segment for HLS. `listeningNow` is the listening seconds in the last `windowS` / 60 beside it. Each session counts for its stream (the stream of the session id's first event: for HLS the group key). Takes no parameters.",
        responses: {
          200: {
            description:
              '`{ at, windowS, gap: { idleS, gapFactor, gapSlackS }, streams: [{ stream, listeners, listeningNow }], total, totalListeningNow, config }`',
          },
          400: error,
          401: unauthorized,
        },
      },
    },
    '/v1/live/stream': {
      get: {
        summary: 'The same as /v1/live, as Server-Sent Events (`event: live`) every 5 s',
        description: 'Takes no parameters.',
        responses: { 200: { description: 'text/event-stream' }, 400: error, 401: unauthorized },
      },
    },
    '/v1/streams': {
      get: {
        summary: 'Streams with listening, configured stations, dayparts and settings (for pickers)',
        description: 'Takes no parameters.',
        responses: {
          200: {
            description:
              '`{ streams: [{ stream, firstMinute, lastMinute }], stations: [{ key, name, tz, streams, dayparts }], dayparts: [{ name, spec }], settings: { tz, idle, minSession, maxSession, aqhQualifier } }`',
          },
          400: error,
          401: unauthorized,
        },
      },
    },
    '/healthz': {
      get: {
        security: [],
        summary: 'Database reachable',
        responses: { 200: { description: 'ok' }, 503: { description: 'database down' } },
      },
    },
    '/openapi.json': {
      get: { security: [], summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } },
    },
  },
} as const;
