-- Issue 9: nothing stops the pipeline. Columns that sums could overflow become bigint (a QH's and a
-- minute's listening ms of one session: overlapping events add up past 2^31); cume key ids become
-- bigint (an identity never gives values back); session_state.check_from bounds the finalizer's
-- receipt check; finalize_failures holds the session ids set aside with their error;
-- earshot_settings the settings the running services work with.
CREATE TABLE "earshot_settings" (
	"component" text PRIMARY KEY NOT NULL,
	"settings" jsonb NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "finalize_failures" (
	"session" text PRIMARY KEY NOT NULL,
	"error" text NOT NULL,
	"code" text,
	"attempts" integer NOT NULL,
	"first_failed_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_failed_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"retry_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "listener_keys" ALTER COLUMN "id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "listener_keys" ALTER COLUMN "id" SET MAXVALUE 9223372036854775807;--> statement-breakpoint
ALTER TABLE "session_quarter_hours" ALTER COLUMN "ms" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "sessions" ALTER COLUMN "minute_ms" SET DATA TYPE bigint[];--> statement-breakpoint
ALTER TABLE "stream_listener_months" ALTER COLUMN "key_id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "session_state" ADD COLUMN "check_from" timestamp (3) with time zone;