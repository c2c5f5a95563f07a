// Times travel between SQL and JS as epoch-ms float8 (exact: to_timestamp keeps microseconds),
// which is cheaper on both sides than ISO text.

/** SQL: a timestamptz expression as epoch ms (float8). */
export const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** SQL: an epoch-ms expression as timestamptz. */
export const toTimestamp = (msExpression: string) => `to_timestamp(${msExpression} / 1000)`;

/** An epoch-ms time as ISO text (parameters, messages). */
export const iso = (ms: number) => new Date(ms).toISOString();
