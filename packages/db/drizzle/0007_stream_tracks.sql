-- Track events (DESIGN 9): what each stream plays from a time on, until its next row. Keyed by
-- the event id alone, so ingest replaces a stored row on an event with its id (a correction);
-- the figures read a stream's rows in time order.
CREATE TABLE "stream_tracks" (
	"id" text PRIMARY KEY NOT NULL,
	"stream" text NOT NULL,
	"time" timestamp (3) with time zone NOT NULL,
	"artist" text NOT NULL,
	"title" text NOT NULL,
	"album" text,
	"isrc" text,
	"label" text,
	"duration_ms" integer,
	"kind" text NOT NULL,
	"received_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "stream_tracks_stream_time" ON "stream_tracks" USING btree ("stream","time");