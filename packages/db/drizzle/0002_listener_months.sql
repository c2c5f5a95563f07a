-- Cume by listener and month (see stream_listener_months in src/schema.ts). Hand-edited after
-- drizzle-kit generate: the backfill of rows finalized before this migration, built from
-- session_quarter_hours. Months are UTC calendar months, computed without the session's TimeZone.
CREATE TABLE "listener_keys" (
	"key" text PRIMARY KEY NOT NULL,
	"id" integer GENERATED ALWAYS AS IDENTITY (sequence name "listener_keys_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	CONSTRAINT "listener_keys_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "stream_listener_months" (
	"stream" text NOT NULL,
	"month" timestamp (3) with time zone NOT NULL,
	"key_id" integer NOT NULL,
	"qhs" bit varying NOT NULL,
	CONSTRAINT "stream_listener_months_stream_month_key_id_pk" PRIMARY KEY("stream","month","key_id")
);
--> statement-breakpoint
INSERT INTO "listener_keys" (key)
SELECT DISTINCT coalesce(listener, 'session:' || session) FROM "session_quarter_hours" ORDER BY 1;--> statement-breakpoint
INSERT INTO "stream_listener_months" (stream, month, key_id, qhs)
SELECT r.stream, r.month, k.id, bit_or(set_bit(repeat('0', r.n)::varbit, r.i, 1))
FROM (SELECT stream, coalesce(listener, 'session:' || session) AS key, m.month,
    (extract(epoch FROM ((m.month AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC') - m.month) / 900)::int AS n,
    (extract(epoch FROM quarter_hour - m.month) / 900)::int AS i
  FROM "session_quarter_hours", LATERAL (SELECT date_trunc('month', quarter_hour, 'UTC') AS month) m) r
JOIN "listener_keys" k ON k.key = r.key
GROUP BY r.stream, r.month, k.id;--> statement-breakpoint
CREATE INDEX "sessions_listener" ON "sessions" USING btree ("listener","stream","start") WHERE listener is not null;
