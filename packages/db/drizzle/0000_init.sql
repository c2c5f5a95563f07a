-- Hand-edited after drizzle-kit generate (it cannot express partitioning):
--  * listen_events is PARTITION BY RANGE ("time"), one partition per UTC day, named
--    listen_events_YYYYMMDD; @earshot/db creates them on demand (ensureEventPartitions) and
--    retention drops them (dropEventPartitionsBefore). No DEFAULT partition: a new day's partition
--    would then have to scan it.
--  * the sequence is not schema-qualified, so it follows search_path like the tables.
CREATE SEQUENCE "session_change_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "listen_events" (
	"id" text NOT NULL,
	"session" text NOT NULL,
	"stream" text NOT NULL,
	"output" text NOT NULL,
	"time" timestamp (3) with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"listener" text,
	"ua" text,
	"received_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "listen_events_id_time_pk" PRIMARY KEY("id","time")
) PARTITION BY RANGE ("time");
--> statement-breakpoint
CREATE TABLE "session_quarter_hours" (
	"session" text NOT NULL,
	"session_start" timestamp (3) with time zone NOT NULL,
	"stream" text NOT NULL,
	"quarter_hour" timestamp (3) with time zone NOT NULL,
	"ms" integer NOT NULL,
	"listener" text,
	CONSTRAINT "session_quarter_hours_session_session_start_quarter_hour_pk" PRIMARY KEY("session","session_start","quarter_hour")
);
--> statement-breakpoint
CREATE TABLE "session_state" (
	"session" text PRIMARY KEY NOT NULL,
	"first_time" timestamp (3) with time zone NOT NULL,
	"last_time" timestamp (3) with time zone NOT NULL,
	"last_received_at" timestamp (3) with time zone NOT NULL,
	"due_at" timestamp (3) with time zone NOT NULL,
	"change_seq" bigint NOT NULL,
	"finalized_seq" bigint DEFAULT 0 NOT NULL,
	"finalized_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"session" text NOT NULL,
	"start" timestamp (3) with time zone NOT NULL,
	"stream" text NOT NULL,
	"output" text NOT NULL,
	"end" timestamp (3) with time zone NOT NULL,
	"elapsed_ms" bigint NOT NULL,
	"duration_ms" bigint NOT NULL,
	"bytes" bigint NOT NULL,
	"listener" text,
	"ua" text,
	"first_minute" timestamp (3) with time zone NOT NULL,
	"minute_ms" integer[] NOT NULL,
	"finalized_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sessions_session_start_pk" PRIMARY KEY("session","start")
);
--> statement-breakpoint
CREATE TABLE "short_sessions" (
	"session" text NOT NULL,
	"start" timestamp (3) with time zone NOT NULL,
	"stream" text NOT NULL,
	"duration_ms" bigint NOT NULL,
	CONSTRAINT "short_sessions_session_start_pk" PRIMARY KEY("session","start")
);
--> statement-breakpoint
CREATE TABLE "stream_minutes" (
	"stream" text NOT NULL,
	"minute" timestamp (3) with time zone NOT NULL,
	"ms" bigint NOT NULL,
	"sessions" integer NOT NULL,
	CONSTRAINT "stream_minutes_stream_minute_pk" PRIMARY KEY("stream","minute")
);
--> statement-breakpoint
CREATE INDEX "listen_events_session_time" ON "listen_events" USING btree ("session","time");--> statement-breakpoint
CREATE INDEX "session_quarter_hours_stream_qh" ON "session_quarter_hours" USING btree ("stream","quarter_hour");--> statement-breakpoint
CREATE INDEX "session_state_pending" ON "session_state" USING btree ("due_at") WHERE finalized_seq < change_seq;--> statement-breakpoint
CREATE INDEX "sessions_stream_start" ON "sessions" USING btree ("stream","start");--> statement-breakpoint
CREATE INDEX "short_sessions_stream_start" ON "short_sessions" USING btree ("stream","start");