/** One bin of the session-length histogram as the API sends it. */
export interface HistogramBin {
  label: string;
  /** Listening time bounds of the bin, seconds: `[fromS, toS)`; `toS` null for the open last bin. */
  fromS: number;
  toS: number | null;
  /** Sessions in the bin (for the first bin, the short sessions). */
  sessions: number;
  /** Short sessions (tune-outs, under minSession) in the bin: all of the first bin's, none elsewhere. */
  short: number;
}

/** `45 s`, `2 min`, `90 min`, `4 h`: whole hours in hours, whole minutes in minutes, else seconds. */
function amount(s: number): { n: number; unit: string } {
  if (s >= 3600 && s % 3600 === 0) return { n: s / 3600, unit: 'h' };
  if (s >= 60 && s % 60 === 0) return { n: s / 60, unit: 'min' };
  return { n: s, unit: 's' };
}

function rangeLabel(fromS: number, toS: number | null): string {
  const a = amount(fromS);
  if (toS === null) return `over ${a.n} ${a.unit}`;
  const b = amount(toS);
  return a.unit === b.unit ? `${a.n}-${b.n} ${b.unit}` : `${a.n} ${a.unit}-${b.n} ${b.unit}`;
}

/**
 * The session-length histogram with bins that say what they hold under the deployment's
 * minSession: first the short sessions (`short (< 60 s)`: tune-outs, which are not counted), then the
 * counted sessions by listening time. A counted session lasts at least minSession, so the counted
 * bins start there: with minSession 120 the second bin is `2-10 min`, and a bin wholly under
 * minSession (empty by construction) is left out.
 */
export function labelHistogram(
  counts: readonly { fromS: number; toS: number | null; sessions: number; short: number }[],
  minSessionS: number,
): HistogramBin[] {
  const short = counts.reduce((n, b) => n + b.short, 0);
  const bins: HistogramBin[] = [
    { label: `short (< ${minSessionS} s)`, fromS: 0, toS: minSessionS, sessions: short, short },
  ];
  for (const b of counts) {
    const underMin = b.toS !== null && b.toS <= minSessionS;
    if (underMin && b.sessions === 0) continue;
    const fromS = underMin ? b.fromS : Math.max(b.fromS, minSessionS);
    bins.push({ label: rangeLabel(fromS, b.toS), fromS, toS: b.toS, sessions: b.sessions, short: 0 });
  }
  return bins;
}
