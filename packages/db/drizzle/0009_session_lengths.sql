-- The session-length histogram from the quarter-hour rollup (see stream_quarter_hours.lengths and
-- short_starts in src/schema.ts): the sessions that start in each QH by listening time, and the
-- short sessions that start in it, so that the histogram reads one row per stream and QH instead of
-- every session of the period. Hand-edited after drizzle-kit generate: the backfill of the human
-- rows finalized before it (the same sums rebuildQuarterHourRollup makes; the bins are
-- SESSION_LENGTH_BOUNDS_S).
ALTER TABLE "stream_quarter_hours" ADD COLUMN "lengths" integer[] DEFAULT '{0,0,0,0,0,0}' NOT NULL;--> statement-breakpoint
ALTER TABLE "stream_quarter_hours" ADD COLUMN "short_starts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "stream_quarter_hours" t SET lengths = b.lengths
FROM (SELECT stream, date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00') AS qh,
    array[count(*) FILTER (WHERE duration_ms < 60000),
      count(*) FILTER (WHERE duration_ms >= 60000 AND duration_ms < 600000),
      count(*) FILTER (WHERE duration_ms >= 600000 AND duration_ms < 1800000),
      count(*) FILTER (WHERE duration_ms >= 1800000 AND duration_ms < 5400000),
      count(*) FILTER (WHERE duration_ms >= 5400000 AND duration_ms < 14400000),
      count(*) FILTER (WHERE duration_ms >= 14400000)]::int[] AS lengths
  FROM "sessions" WHERE class = 'human' GROUP BY 1, 2) b
WHERE t.stream = b.stream AND t.quarter_hour = b.qh;--> statement-breakpoint
INSERT INTO "stream_quarter_hours" AS t (stream, quarter_hour, ms, sessions, continuing, starts, qualified, short_starts)
SELECT stream, date_bin('15 minutes', start, timestamptz '1970-01-01 00:00:00+00'), 0, 0, 0, 0, array_fill(0, array[15]), count(*)
FROM "short_sessions" WHERE class = 'human' GROUP BY 1, 2
ON CONFLICT (stream, quarter_hour) DO UPDATE SET short_starts = excluded.short_starts;
