-- Session start is now the first event's interval start (`time - duration`, DESIGN 3; it was the
-- first event's `time`). Rows keep that `time` in first_time: a re-finalization resumes at a first
-- event (core's resumePoint), since an interval start can lie before the previous session's end.
-- Every stored row was cut with start = its first event's time, so first_time = start is exact.
ALTER TABLE "sessions" ADD COLUMN "first_time" timestamp (3) with time zone;--> statement-breakpoint
UPDATE "sessions" SET "first_time" = "start";--> statement-breakpoint
ALTER TABLE "sessions" ALTER COLUMN "first_time" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "short_sessions" ADD COLUMN "first_time" timestamp (3) with time zone;--> statement-breakpoint
UPDATE "short_sessions" SET "first_time" = "start";--> statement-breakpoint
ALTER TABLE "short_sessions" ALTER COLUMN "first_time" SET NOT NULL;--> statement-breakpoint
-- The stored rows' starts (and what is keyed or rolled up from them: session_quarter_hours,
-- stream_quarter_hours.starts, stream_listener_months, short-session minutes) are corrected by the
-- finalizer: every finalized id is marked changed from the first event of its earliest stored row
-- whose events retention kept (the id's events from there on are all stored), so the sweep
-- re-finalizes it from its events and replaces those rows with their rollup deltas. Rows whose
-- first event retention dropped cannot be recomputed and keep their old start.
WITH "kept" AS (
  SELECT st."session", min(r."first_time") AS "from_time"
  FROM "session_state" st
  CROSS JOIN LATERAL (SELECT min(e."time") AS "t" FROM "listen_events" e WHERE e."session" = st."session") m
  CROSS JOIN LATERAL (
    SELECT s."first_time" FROM "sessions" s WHERE s."session" = st."session" AND s."first_time" >= m."t"
    UNION ALL
    SELECT s."first_time" FROM "short_sessions" s WHERE s."session" = st."session" AND s."first_time" >= m."t"
  ) r
  WHERE st."finalized_seq" > 0
  GROUP BY st."session"
)
UPDATE "session_state" st SET
  "changed_from" = CASE
    WHEN st."finalized_seq" >= st."change_seq" THEN k."from_time"
    WHEN st."changed_from" IS NULL THEN NULL
    ELSE least(st."changed_from", k."from_time") END,
  "check_from" = CASE WHEN st."finalized_seq" >= st."change_seq" THEN st."last_time" ELSE st."check_from" END,
  "change_seq" = nextval('session_change_seq'),
  "due_at" = least(st."due_at", now())
FROM "kept" k
WHERE st."session" = k."session";
