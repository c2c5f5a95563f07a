-- The audience rollups (see stream_audience_quarter_hours and stream_audience_months in
-- src/schema.ts): the quarter-hour rollup and the listener months split by the sessions' country,
-- device, OS, player and output, so that the breakdowns read rollups instead of every session row.
-- Hand-edited after drizzle-kit generate: the backfill of the human rows finalized before it (the
-- same sums rebuildAudienceRollups makes).
CREATE TABLE "stream_audience_months" (
	"stream" text NOT NULL,
	"month" timestamp (3) with time zone NOT NULL,
	"key_id" bigint NOT NULL,
	"country" text NOT NULL,
	"device" text NOT NULL,
	"os" text NOT NULL,
	"player" text NOT NULL,
	"output" text NOT NULL,
	"qhs" bit varying NOT NULL,
	CONSTRAINT "stream_audience_months_pk" PRIMARY KEY("stream","month","key_id","country","device","os","player","output")
);
--> statement-breakpoint
CREATE TABLE "stream_audience_quarter_hours" (
	"stream" text NOT NULL,
	"quarter_hour" timestamp (3) with time zone NOT NULL,
	"country" text NOT NULL,
	"device" text NOT NULL,
	"os" text NOT NULL,
	"player" text NOT NULL,
	"output" text NOT NULL,
	"ms" bigint NOT NULL,
	"sessions" integer NOT NULL,
	"continuing" integer NOT NULL,
	"starts" integer NOT NULL,
	"qualified" integer[] NOT NULL,
	CONSTRAINT "stream_audience_quarter_hours_pk" PRIMARY KEY("stream","quarter_hour","country","device","os","player","output")
);
--> statement-breakpoint
INSERT INTO "stream_audience_quarter_hours" (stream, quarter_hour, country, device, os, player, output, ms, sessions, continuing, starts, qualified)
SELECT coalesce(a.stream, b.stream), coalesce(a.qh, b.qh), coalesce(a.country, b.country), coalesce(a.device, b.device),
  coalesce(a.os, b.os), coalesce(a.player, b.player), coalesce(a.output, b.output), coalesce(a.ms, 0), coalesce(a.n, 0),
  coalesce(a.c, 0), coalesce(b.starts, 0), coalesce(a.q, array_fill(0, array[15]))
FROM (SELECT q.stream, q.quarter_hour AS qh, coalesce(s.country, 'unknown') AS country, s.device, s.os, s.player, s.output,
    sum(q.ms) AS ms, count(*) AS n, count(*) FILTER (WHERE q.continues) AS c,
    array[count(*) FILTER (WHERE q.ms >= 60000), count(*) FILTER (WHERE q.ms >= 120000), count(*) FILTER (WHERE q.ms >= 180000), count(*) FILTER (WHERE q.ms >= 240000), count(*) FILTER (WHERE q.ms >= 300000), count(*) FILTER (WHERE q.ms >= 360000), count(*) FILTER (WHERE q.ms >= 420000), count(*) FILTER (WHERE q.ms >= 480000), count(*) FILTER (WHERE q.ms >= 540000), count(*) FILTER (WHERE q.ms >= 600000), count(*) FILTER (WHERE q.ms >= 660000), count(*) FILTER (WHERE q.ms >= 720000), count(*) FILTER (WHERE q.ms >= 780000), count(*) FILTER (WHERE q.ms >= 840000), count(*) FILTER (WHERE q.ms >= 900000)]::int[] AS q
  FROM "session_quarter_hours" q JOIN "sessions" s ON s.session = q.session AND s.start = q.session_start
  WHERE q.class = 'human' GROUP BY 1, 2, 3, 4, 5, 6, 7) a
FULL JOIN (SELECT stream, date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') AS qh,
    coalesce(country, 'unknown') AS country, device, os, player, output, count(*) AS starts
  FROM "sessions" WHERE class = 'human' GROUP BY 1, 2, 3, 4, 5, 6, 7) b
  ON a.stream = b.stream AND a.qh = b.qh AND a.country = b.country AND a.device = b.device AND a.os = b.os
    AND a.player = b.player AND a.output = b.output;--> statement-breakpoint
INSERT INTO "stream_audience_months" (stream, month, key_id, country, device, os, player, output, qhs)
SELECT r.stream, r.month, k.id, r.country, r.device, r.os, r.player, r.output, bit_or(set_bit(repeat('0', r.n)::varbit, r.i, 1))
FROM (SELECT q.stream, coalesce(q.listener, 'session:' || q.session) AS key, coalesce(s.country, 'unknown') AS country,
    s.device, s.os, s.player, s.output, m.month,
    (extract(epoch FROM ((m.month AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC') - m.month) / 900)::int AS n,
    (extract(epoch FROM q.quarter_hour - m.month) / 900)::int AS i
  FROM "session_quarter_hours" q JOIN "sessions" s ON s.session = q.session AND s.start = q.session_start,
    LATERAL (SELECT date_trunc('month', q.quarter_hour, 'UTC') AS month) m
  WHERE q.class = 'human') r
JOIN "listener_keys" k ON k.key = r.key
GROUP BY r.stream, r.month, k.id, r.country, r.device, r.os, r.player, r.output;--> statement-breakpoint
-- The count of streams left running (every summary) reads the sessions at least as long as its
-- threshold (8 h by default) that start near its period, from the index alone (no sessions' rows).
DROP INDEX "sessions_long";--> statement-breakpoint
CREATE INDEX "sessions_long" ON "sessions" USING btree ("duration_ms","start") INCLUDE ("end", "class", "stream", "session") WHERE duration_ms >= 3600000;
