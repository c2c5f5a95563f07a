/** OpenAPI 3.1 description of the ingest service, served at GET /openapi.json. Hand-written: the routes are few. */

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const listenEvent = {
  type: 'object',
  additionalProperties: false,
  required: ['session', 'stream', 'output', 'time', 'duration', 'bytes'],
  properties: {
    id: {
      type: 'string',
      maxLength: 128,
      description:
        'Unique per event (UUIDv7 from the logger). Ingest is idempotent on (id, time): a retried event repeats both.',
    },
    session: { type: 'string', minLength: 1, maxLength: 128, description: 'Session id.' },
    stream: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      description: 'Stream key (HLS master playlist: the stream group key).',
    },
    output: { type: 'string', enum: ['shoutcast', 'hls'] },
    time: {
      oneOf: [
        { type: 'string', format: 'date-time', description: 'ISO-8601 with a zone.' },
        { type: 'integer', description: 'Epoch milliseconds.' },
      ],
      description: 'When the delivery this event reports ended. The event covers (time - duration, time].',
    },
    duration: { type: 'number', minimum: 0, maximum: 86_400, description: 'Seconds of audio delivered.' },
    bytes: {
      type: 'integer',
      minimum: 0,
      description:
        'Bytes delivered: at most duration x EARSHOT_MAX_BYTES_PER_S (default 1,000,000) + 1 MiB. Per session, the bytes (and the duration in ms) of one batch add up to at most 2^53 - 1.',
    },
    listener: { type: 'string', maxLength: 128, description: 'Privacy-safe listener key, used for cume.' },
    ua: { type: 'string', maxLength: 1024, description: 'Client user agent.' },
    ip: {
      type: 'string',
      maxLength: 1024,
      description:
        'Client IP. Never stored: without `listener`, ingest derives one (HMAC-SHA256 with EARSHOT_LISTENER_SALT of the IPv4 address or IPv6 /64, plus ua) and drops the ip.',
    },
  },
} as const;

const text = (description: string, minLength = 0) => ({
  type: 'string',
  minLength,
  maxLength: 512,
  description,
});

const trackEvent = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'stream', 'time', 'artist', 'title', 'kind'],
  properties: {
    id: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      description:
        'Unique per track event (UUIDv7 from the logger; derived from the source by a collector). An event with a stored id replaces it (a correction); the same event again adds nothing.',
    },
    stream: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      description: 'Stream key; a track on an HLS stream-group key covers its variants.',
    },
    time: {
      oneOf: [
        { type: 'string', format: 'date-time', description: 'ISO-8601 with a zone.' },
        { type: 'integer', description: 'Epoch milliseconds.' },
      ],
      description: "When the track starts on the stream; it plays until the stream's next track event.",
    },
    artist: text('Featured artist (required non-empty for music; may be empty for talk, ad and other).'),
    title: text('Sound recording or segment title.', 1),
    album: text('Album.'),
    isrc: {
      type: 'string',
      description: 'ISRC, 12 characters once dashes are removed (`US-RC1-76-07839`); stored upper case.',
    },
    label: text('Marketing label.'),
    duration: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 86_400,
      description: "The track's length, seconds, if known.",
    },
    kind: { type: 'string', enum: ['music', 'talk', 'ad', 'other'] },
  },
} as const;

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Earshot ingest',
    version: '0.1.0',
    description:
      'Receives listen events and track events (now playing) from streaming-server loggers and collectors. A batch is validated whole and acknowledged (2xx) only after it is committed; retrying a batch adds nothing.',
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A token from EARSHOT_INGEST_TOKENS.' },
      metricsBearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'A token from EARSHOT_INGEST_TOKENS or EARSHOT_METRICS_TOKENS.',
      },
    },
    schemas: {
      ListenEvent: listenEvent,
      TrackEvent: trackEvent,
      TracksAccepted: {
        type: 'object',
        required: ['accepted', 'replaced', 'duplicates'],
        properties: {
          accepted: { type: 'integer', description: 'Track events stored as new by this request.' },
          replaced: {
            type: 'integer',
            description: 'Track events that replaced the stored one of their id with other content.',
          },
          duplicates: {
            type: 'integer',
            description:
              'Track events stored already as they are (a retry), or repeated in the request (the last of an id wins).',
          },
        },
      },
      Issue: {
        type: 'object',
        required: ['index', 'field', 'reason'],
        properties: {
          index: {
            type: 'integer',
            description: 'Index of the event in the batch (NDJSON: among non-blank lines).',
          },
          field: { type: 'string', description: 'The field at fault; empty when the whole event is.' },
          reason: { type: 'string' },
        },
      },
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: { type: 'string' },
          issues: { type: 'array', items: { $ref: '#/components/schemas/Issue' } },
          truncated: { type: 'boolean', description: 'More than 1000 issues; `issueCount` has the total.' },
          issueCount: { type: 'integer' },
        },
      },
      Accepted: {
        type: 'object',
        required: ['accepted', 'duplicates'],
        properties: {
          accepted: { type: 'integer', description: 'Events stored by this request.' },
          duplicates: {
            type: 'integer',
            description:
              'Events already stored (a retry), repeated in the batch, or stored by a concurrent request.',
          },
        },
      },
    },
  },
  paths: {
    '/v1/events': {
      post: {
        summary: 'Ingest a batch of listen events',
        security: [{ bearer: [] }],
        parameters: [
          {
            name: 'Content-Encoding',
            in: 'header',
            required: false,
            schema: { type: 'string', enum: ['gzip', 'identity'] },
          },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'array', items: { $ref: '#/components/schemas/ListenEvent' } },
            },
            'application/x-ndjson': {
              schema: { type: 'string', description: 'One ListenEvent JSON object per line.' },
            },
          },
        },
        responses: {
          '200': {
            description: 'Committed.',
            headers: {
              'Earshot-Schedule': {
                description:
                  '`queued`: finalize jobs handed to Redis; `deferred`: Redis unavailable, the worker sweep will finalize; `off`: no Redis configured; `none`: nothing new.',
                schema: { type: 'string', enum: ['queued', 'deferred', 'off', 'none'] },
              },
            },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } },
          },
          '400': error(
            'Invalid body or events (core checks, ip, time window, days, bytes against duration, a session summing past 2^53 - 1); `issues` names each bad event by index, field and reason. Nothing was written.',
          ),
          '401': error('Missing or unknown bearer token.'),
          '413': error(
            'Body over EARSHOT_MAX_BODY_BYTES (compressed or inflated) or batch over EARSHOT_MAX_BATCH events.',
          ),
          '415': error(
            'Content-Type is not application/json or application/x-ndjson, or Content-Encoding is not gzip.',
          ),
          '503': {
            ...error(
              'The database is unavailable, the queue of events held for it is full (EARSHOT_QUEUE_MAX_EVENTS / EARSHOT_QUEUE_MAX_BYTES), or ingest is shutting down: nothing was written. Or the commit did not finish within EARSHOT_COMMIT_TIMEOUT_MS: it may still, and a retry stores nothing twice. Retry after Retry-After.',
            ),
            headers: { 'Retry-After': { schema: { type: 'integer' } } },
          },
        },
      },
    },
    '/v1/tracks': {
      post: {
        summary: 'Ingest a batch of track events (what each stream plays from a time on)',
        description:
          'Same token, body formats, gzip and limits as /v1/events. Validated whole, written in one statement, acknowledged after commit.',
        security: [{ bearer: [] }],
        parameters: [
          {
            name: 'Content-Encoding',
            in: 'header',
            required: false,
            schema: { type: 'string', enum: ['gzip', 'identity'] },
          },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'array', items: { $ref: '#/components/schemas/TrackEvent' } },
            },
            'application/x-ndjson': {
              schema: { type: 'string', description: 'One TrackEvent JSON object per line.' },
            },
          },
        },
        responses: {
          '200': {
            description: 'Committed.',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/TracksAccepted' } } },
          },
          '400': error(
            'Invalid body or track events (core checks, unknown fields, time more than EARSHOT_MAX_EVENT_AHEAD_S ahead); `issues` names each by index, field and reason. Nothing was written.',
          ),
          '401': error('Missing or unknown bearer token.'),
          '413': error(
            'Body over EARSHOT_MAX_BODY_BYTES (compressed or inflated) or batch over EARSHOT_MAX_BATCH events.',
          ),
          '415': error(
            'Content-Type is not application/json or application/x-ndjson, or Content-Encoding is not gzip.',
          ),
          '503': {
            ...error(
              'The database is unavailable or did not commit within EARSHOT_COMMIT_TIMEOUT_MS (it may still: a retry stores nothing twice), or ingest is shutting down. Retry after Retry-After.',
            ),
            headers: { 'Retry-After': { schema: { type: 'integer' } } },
          },
        },
      },
    },
    '/healthz': { get: { summary: 'The process is up', responses: { '200': { description: 'Up.' } } } },
    '/readyz': {
      get: {
        summary: 'Can take events: the database answers and the queue has room (Redis down only degrades)',
        responses: {
          '200': {
            description:
              'Ready: `{ ok: true, status: "ready", db: "ok", redis: "ok" | "off" | "degraded: <reason>" }`.',
          },
          '503': {
            description: '`ok: false`, `status`: "database down", "queue full" or "draining".',
          },
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        security: [{ metricsBearer: [] }],
        responses: {
          '200': { description: 'Prometheus text format.', content: { 'text/plain': {} } },
          '401': error('Missing or unknown bearer token.'),
        },
      },
    },
  },
} as const;
