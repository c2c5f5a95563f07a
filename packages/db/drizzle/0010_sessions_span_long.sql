-- The sessions whose events span an hour or more, by that span, with what the reports' run-start
-- gaps read of them (src/reports/rollup-totals.ts, GAP_ROWS): a daypart's next day asks which
-- sessions listened across the night (a span that contains it), and only these can. Hand-edited
-- after drizzle-kit generate: the INCLUDE columns, which drizzle-kit cannot declare.
CREATE INDEX "sessions_span_long" ON "sessions" USING gist (tstzrange("start", "end", '[]')) INCLUDE ("stream", "class", "session") WHERE "end" - start >= interval '1 hour';
