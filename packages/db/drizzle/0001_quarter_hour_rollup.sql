-- The quarter-hour rollup (see stream_quarter_hours in src/schema.ts). Hand-edited after
-- drizzle-kit generate: the backfill of rows finalized before this migration, and INCLUDE columns on
-- the two partial indexes (drizzle-kit cannot declare them). From here on the worker keeps all of it
-- current in each finalization transaction.
CREATE TABLE "stream_quarter_hours" (
	"stream" text NOT NULL,
	"quarter_hour" timestamp (3) with time zone NOT NULL,
	"ms" bigint NOT NULL,
	"sessions" integer NOT NULL,
	"continuing" integer NOT NULL,
	"starts" integer NOT NULL,
	"qualified" integer[] NOT NULL,
	CONSTRAINT "stream_quarter_hours_stream_quarter_hour_pk" PRIMARY KEY("stream","quarter_hour")
);
--> statement-breakpoint
ALTER TABLE "session_quarter_hours" ADD COLUMN "prev_quarter_hour" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "session_quarter_hours" ADD COLUMN "continues" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- Backfill: each row's previous quarter-hour with listening in its session.
UPDATE "session_quarter_hours" t SET "prev_quarter_hour" = p.prev,
  "continues" = coalesce(p.prev = t.quarter_hour - interval '15 minutes', false)
FROM (SELECT session, session_start, quarter_hour,
    lag(quarter_hour) OVER (PARTITION BY session, session_start ORDER BY quarter_hour) AS prev
  FROM "session_quarter_hours") p
WHERE p.session = t.session AND p.session_start = t.session_start AND p.quarter_hour = t.quarter_hour
  AND p.prev IS NOT NULL;--> statement-breakpoint
INSERT INTO "stream_quarter_hours" (stream, quarter_hour, ms, sessions, continuing, starts, qualified)
SELECT coalesce(a.stream, b.stream), coalesce(a.qh, b.qh), coalesce(a.ms, 0), coalesce(a.n, 0), coalesce(a.c, 0),
  coalesce(b.starts, 0), coalesce(a.q, array_fill(0, array[15]))
FROM (SELECT stream, quarter_hour AS qh, sum(ms) AS ms, count(*) AS n, count(*) FILTER (WHERE continues) AS c,
    array[count(*) filter (where ms >= 60000), count(*) filter (where ms >= 120000), count(*) filter (where ms >= 180000), count(*) filter (where ms >= 240000), count(*) filter (where ms >= 300000), count(*) filter (where ms >= 360000), count(*) filter (where ms >= 420000), count(*) filter (where ms >= 480000), count(*) filter (where ms >= 540000), count(*) filter (where ms >= 600000), count(*) filter (where ms >= 660000), count(*) filter (where ms >= 720000), count(*) filter (where ms >= 780000), count(*) filter (where ms >= 840000), count(*) filter (where ms >= 900000)]::int[] AS q
  FROM "session_quarter_hours" GROUP BY 1, 2) a
FULL JOIN (SELECT stream, date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') AS qh, count(*) AS starts
  FROM "sessions" GROUP BY 1, 2) b ON a.stream = b.stream AND a.qh = b.qh;--> statement-breakpoint
CREATE INDEX "session_quarter_hours_run_start" ON "session_quarter_hours" USING btree ("quarter_hour") INCLUDE ("stream", "session", "listener") WHERE not continues;--> statement-breakpoint
CREATE INDEX "session_quarter_hours_gaps" ON "session_quarter_hours" USING btree ("quarter_hour") INCLUDE ("stream", "prev_quarter_hour") WHERE not continues and prev_quarter_hour is not null;
