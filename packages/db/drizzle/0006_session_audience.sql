-- Net and gross, geography and devices (DESIGN 4). Ingest now stores each event's country (looked
-- up from the IP before dropping it) and origin (a configured relay or monitor IP range); the worker
-- classifies each session (human, bot, relay, monitor) and parses its first user agent. Only human
-- sessions stay in the rollups, so net reports read them as before and gross reports add the rest
-- from the per-session rows.
ALTER TABLE "listen_events" ADD COLUMN "country" text;--> statement-breakpoint
ALTER TABLE "listen_events" ADD COLUMN "origin" text;--> statement-breakpoint
ALTER TABLE "session_quarter_hours" ADD COLUMN "class" text DEFAULT 'human' NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "country" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "class" text DEFAULT 'human' NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "device" text DEFAULT 'unknown' NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "os" text DEFAULT 'unknown' NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "player" text DEFAULT 'unknown' NOT NULL;--> statement-breakpoint
ALTER TABLE "short_sessions" ADD COLUMN "class" text DEFAULT 'human' NOT NULL;--> statement-breakpoint
CREATE INDEX "session_quarter_hours_excluded" ON "session_quarter_hours" USING btree ("quarter_hour") WHERE class <> 'human';--> statement-breakpoint
CREATE INDEX "sessions_excluded" ON "sessions" USING btree ("start") WHERE class <> 'human';--> statement-breakpoint
CREATE INDEX "sessions_long" ON "sessions" USING btree ("start") WHERE duration_ms >= 3600000;--> statement-breakpoint
-- Net cume and active sessions read these partial indexes' rows only (index-only scans): they now
-- also carry the class the net queries keep.
DROP INDEX "session_quarter_hours_run_start";--> statement-breakpoint
CREATE INDEX "session_quarter_hours_run_start" ON "session_quarter_hours" USING btree ("quarter_hour") INCLUDE ("stream", "session", "listener", "class") WHERE not continues;--> statement-breakpoint
DROP INDEX "session_quarter_hours_gaps";--> statement-breakpoint
CREATE INDEX "session_quarter_hours_gaps" ON "session_quarter_hours" USING btree ("quarter_hour") INCLUDE ("stream", "prev_quarter_hour", "class") WHERE not continues and prev_quarter_hour is not null;--> statement-breakpoint
-- Stored rows were finalized before sessions had a class: every finalized id is marked changed
-- from the first event of its earliest stored row whose events retention kept (as in 0005), so the
-- sweep re-finalizes it, classifies it from its events' user agents, and takes the excluded ones
-- out of the rollups with their deltas. Events stored before this migration have no country or
-- origin (their IPs were never stored): those sessions get country null, and a relay among them is
-- recognised by its user agent only.
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
