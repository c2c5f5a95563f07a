-- The sessions whose listening spans an hour or more (from their first minute to their last event),
-- by that span, with what the reports' run-start gaps read of them (src/reports/rollup-totals.ts,
-- GAP_ROWS): a daypart's next day asks which sessions listened across the night (a span that
-- contains it), and only these can. Hand-edited after drizzle-kit generate: the INCLUDE columns,
-- which drizzle-kit cannot declare.
CREATE INDEX "sessions_span_long" ON "sessions" USING gist (tstzrange("first_minute", "end", '[]')) INCLUDE ("stream", "class", "session", "start") WHERE "end" - first_minute >= interval '1 hour';
