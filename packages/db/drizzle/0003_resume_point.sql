-- Re-finalization from core's resumePoint: session_state.changed_from (the earliest event time since
-- the last finalization) and short_sessions.end; null in rows from before this migration means
-- "unknown", which only makes a re-finalization start earlier. A BRIN index for live listeners and
-- an index on sessions(start) for breakdowns over all streams.
ALTER TABLE "session_state" ADD COLUMN "changed_from" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "short_sessions" ADD COLUMN "end" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "listen_events_time_brin" ON "listen_events" USING brin ("time");--> statement-breakpoint
CREATE INDEX "sessions_start" ON "sessions" USING btree ("start");