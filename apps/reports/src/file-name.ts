import { localTime, type Report } from '@earshot/core';

// Only characters every file system and a quoted Content-Disposition filename take as they are.
const safe = (text: string) => text.replace(/[^A-Za-z0-9.+-]+/g, '_').replace(/^_+|_+$/g, '');

const pad = (n: number) => String(n).padStart(2, '0');

/** A local date (`2026-11-01`), with the local time when it is not midnight (`2026-11-01T0600`). */
function localStamp(iso: string, tz: string): string {
  const t = localTime(Date.parse(iso), tz);
  const date = `${t.year}-${pad(t.month)}-${pad(t.day)}`;
  return t.minuteOfDay === 0
    ? date
    : `${date}T${pad(Math.floor(t.minuteOfDay / 60))}${pad(t.minuteOfDay % 60)}`;
}

/**
 * The file name of a CSV download, carrying the config that shaped it (a saved file loses the
 * `Earshot-Config` header): part, station or streams, period `[from, to)` in local time of the
 * report's zone (`to` exclusive, as in `config`), zone, daypart, AQH qualifier and `gross` when
 * not net, e.g. `earshot-summary-wxyz-2026-11-01_2026-11-08-America_New_York-AM_drive-aqh300s.csv`
 * or `earshot-breakdown-by-country-...-aqh300s-gross.csv`.
 */
export function reportFileName(
  report: Pick<Report, 'config'>,
  part: string,
  scope: {
    station?: string | undefined;
    streams?: readonly string[] | undefined;
    daypartName?: string | undefined;
  },
): string {
  const c = report.config;
  const streams = scope.streams ?? [];
  const who =
    scope.station ??
    (streams.length === 0 ? '' : streams.length <= 3 ? streams.join('+') : `${streams.length}-streams`);
  const pieces = [
    'earshot',
    // A breakdown's dimension, and gross (net is the default and goes unsaid).
    part === 'breakdown' && c.by ? `${part}-by-${c.by}` : part,
    safe(who).slice(0, 80),
    `${localStamp(c.from, c.tz)}_${localStamp(c.to, c.tz)}`,
    safe(c.tz),
    c.daypart === null ? '' : safe(scope.daypartName ?? c.daypart),
    `aqh${c.aqhQualifier}s`,
    c.basis === 'gross' ? 'gross' : '',
  ];
  return `${pieces.filter((p) => p !== '').join('-')}.csv`;
}
