import { type Daypart, localTime, periodQuarterHours, QUARTER_HOUR_MS, type Report } from '@earshot/core';
import { terminalSafe } from './terminal-text.js';

/** Facts the table shows besides the report itself. */
export interface TableExtras {
  /** Where the events came from. */
  source: string;
  /** Valid events read (none when the report comes from the database). */
  events?: number | undefined;
  /** Malformed lines skipped. */
  skipped: number;
  /** Sessions under `minSession` (tune-outs) starting in the period, by stream. */
  shortByStream: ReadonlyMap<string, number>;
  daypart: Daypart | null;
}

const numberFormats = new Map<number, Intl.NumberFormat>();

/** A number with thousands separators and `digits` decimals; `-` when it is not finite. */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '-';
  let format = numberFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    numberFormats.set(digits, format);
  }
  return format.format(value);
}

/** Seconds as h:mm:ss (rounded to the second). */
export function formatHms(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/**
 * Columns padded to their widest cell: text left, numbers right. Cells are made terminal-safe
 * first (see {@link terminalSafe}), so a control character in a stream name neither acts on the
 * terminal nor shifts the columns.
 */
export function renderColumns(
  headerCells: readonly string[],
  body: readonly (readonly string[])[],
  leftColumns = 1,
): string {
  const header = headerCells.map((cell) => terminalSafe(cell));
  const rows = body.map((r) => r.map((cell) => terminalSafe(cell)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i < leftColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)].join('\n');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function localDate(ms: number, tz: string): string {
  const t = localTime(ms, tz);
  return `${t.year}-${pad2(t.month)}-${pad2(t.day)}`;
}

function localClock(ms: number, tz: string): string {
  const t = localTime(ms, tz);
  return `${pad2(Math.floor(t.minuteOfDay / 60))}:${pad2(t.minuteOfDay % 60)}`;
}

function periodLine(report: Report): string {
  const { tz } = report.config;
  const from = Date.parse(report.config.from);
  const to = Date.parse(report.config.to);
  // Without --from/--to the period is the data's: none when there is no counted listening.
  if (from >= to) return `empty (${report.config.from} .. ${report.config.to})`;
  const fromDate = localDate(from, tz);
  // The end is exclusive: show 10:00, not 09:59, and 24:00 as the next day's 00:00.
  const toDate = localDate(to, tz);
  const local =
    fromDate === toDate
      ? `${fromDate} ${localClock(from, tz)} .. ${localClock(to, tz)}`
      : `${fromDate} ${localClock(from, tz)} .. ${toDate} ${localClock(to, tz)}`;
  return `${local} ${tz} (${report.config.from} .. ${report.config.to})`;
}

function byStreamText(counts: ReadonlyMap<string, number>): string {
  if (counts.size <= 1) return '';
  return ` (${[...counts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([s, n]) => `${s} ${formatNumber(n)}`)
    .join(', ')})`;
}

interface Bucket {
  label: string;
  minutes: number;
  sum: Map<string, number>;
  peak: Map<string, number>;
}

/**
 * Listeners per local hour (per local day for periods over 48 hours): the average of the minutes
 * (empty minutes count as 0) and the busiest minute, per stream and for all streams together.
 */
function listenersSection(report: Report, daypart: Daypart | null): string {
  const { tz } = report.config;
  const from = Date.parse(report.config.from);
  const to = Date.parse(report.config.to);
  const qhs = periodQuarterHours(from, to, tz, daypart);
  if (qhs.length === 0 || report.minutes.length === 0) return '';
  const hourKey = (qh: number) =>
    `${localDate(qh, tz)} ${pad2(Math.floor(localTime(qh, tz).minuteOfDay / 60))}`;
  const hours = new Set(qhs.map(hourKey));
  const perDay = hours.size > 48;
  const keyOf = perDay ? (qh: number) => localDate(qh, tz) : hourKey;
  const oneDay = new Set(qhs.map((qh) => localDate(qh, tz))).size === 1;

  const buckets = new Map<string, Bucket>();
  const bucketOfQh = new Map<number, Bucket>();
  for (const qh of qhs) {
    const key = keyOf(qh);
    let bucket = buckets.get(key);
    if (!bucket) {
      const label = perDay ? key : oneDay ? `${key.slice(11)}:00` : `${key}:00`;
      bucket = { label, minutes: 0, sum: new Map(), peak: new Map() };
      buckets.set(key, bucket);
    }
    bucket.minutes += 15;
    bucketOfQh.set(qh, bucket);
  }

  const streams = [...new Set(report.minutes.map((m) => m.stream))].sort();
  const showAll = streams.length > 1;
  const allByMinute = new Map<number, number>();
  for (const row of report.minutes) {
    const minute = Date.parse(row.minute);
    const bucket = bucketOfQh.get(Math.floor(minute / QUARTER_HOUR_MS) * QUARTER_HOUR_MS);
    if (!bucket) continue;
    bucket.sum.set(row.stream, (bucket.sum.get(row.stream) ?? 0) + row.listeners);
    bucket.peak.set(row.stream, Math.max(bucket.peak.get(row.stream) ?? 0, row.listeners));
    if (showAll) allByMinute.set(minute, (allByMinute.get(minute) ?? 0) + row.listeners);
  }
  for (const [minute, listeners] of allByMinute) {
    const bucket = bucketOfQh.get(Math.floor(minute / QUARTER_HOUR_MS) * QUARTER_HOUR_MS)!;
    bucket.sum.set('\u0000all', (bucket.sum.get('\u0000all') ?? 0) + listeners);
    bucket.peak.set('\u0000all', Math.max(bucket.peak.get('\u0000all') ?? 0, listeners));
  }

  const columns = showAll ? [...streams, '\u0000all'] : streams;
  const header = [perDay ? 'day' : 'hour', ...columns.map((c) => (c === '\u0000all' ? 'all streams' : c))];
  const rows = [...buckets.values()].map((b) => [
    b.label,
    ...columns.map(
      (c) => `${formatNumber((b.sum.get(c) ?? 0) / b.minutes, 1)} / ${formatNumber(b.peak.get(c) ?? 0, 1)}`,
    ),
  ]);
  const title = `Listeners per ${perDay ? 'day' : 'hour'} (average / peak minute, ${tz})`;
  return `${title}\n${renderColumns(header, rows)}`;
}

/**
 * The report as text for people: config, summary per stream, listeners per hour, session counts.
 * Nothing from the data reaches the terminal as a control: stream names, the source and the
 * daypart go through {@link terminalSafe}.
 */
export function formatTable(report: Report, extras: TableExtras): string {
  const c = report.config;
  const out: string[] = [];
  const daypart = extras.daypart
    ? extras.daypart.name === extras.daypart.spec
      ? extras.daypart.spec
      : `${extras.daypart.name} (${extras.daypart.spec})`
    : 'none (whole period)';
  out.push(`Earshot listener report: ${extras.source}`);
  out.push(`Period    ${periodLine(report)}`);
  out.push(`Daypart   ${daypart}`);
  out.push(
    `Settings  idle ${c.idle} s, min session ${c.minSession} s, AQH qualifier ${c.aqhQualifier} s, max session ${c.maxSession} s`,
  );
  out.push(
    c.basis === 'net'
      ? "Counting  net: human sessions only (bots, relays and the station's monitoring left out; --gross counts them)"
      : "Counting  gross: every session, bots, relays and the station's monitoring included",
  );
  out.push('');

  if (report.summary.length === 0) {
    out.push('No counted listening in this period.');
  } else {
    const header = [
      'stream',
      'QHs',
      'AQH',
      'cume',
      'TLH',
      'AAS',
      'ATSL',
      'TSL h',
      'Nielsen TSL h',
      'active',
      'starts',
    ];
    const rows = report.summary.map((s) => [
      s.stream,
      formatNumber(s.quarterHours),
      formatNumber(s.aqh, 1),
      formatNumber(s.cume),
      formatNumber(s.tlh, 1),
      formatNumber(s.aas, 1),
      formatHms(s.atsl),
      formatNumber(s.tsl, 2),
      formatNumber(s.tslNielsen, 2),
      formatNumber(s.activeSessions),
      formatNumber(s.sessionStarts),
    ]);
    out.push('Summary by stream (AQH, AAS: sessions; TLH: hours; ATSL per session; TSL per listener)');
    out.push(renderColumns(header, rows));
    const total = (f: (s: Report['summary'][number]) => number) =>
      report.summary.reduce((n, s) => n + f(s), 0);
    const [bots, relays, monitors, left] = [
      total((s) => s.excludedBot),
      total((s) => s.excludedRelay),
      total((s) => s.excludedMonitor),
      total((s) => s.leftRunning),
    ];
    out.push(
      `${c.basis === 'net' ? 'Left out' : 'Of these'}  ${formatNumber(bots)} bot, ${formatNumber(relays)} relay and ${formatNumber(monitors)} monitoring sessions; ${formatNumber(left)} sessions of ${formatNumber(c.leftRunning / 3600, 1)} h or more look left running (kept)`,
    );
    if (report.breakdown.length > 0) {
      const groups = report.breakdown.map((g) => [
        g.group,
        formatNumber(g.activeSessions),
        formatNumber(g.tlh, 1),
        formatNumber(g.cume),
        formatNumber(g.aqh, 1),
        formatHms(g.atsl),
        formatNumber(g.sessionStarts),
      ]);
      out.push('', `By ${c.by} (all selected streams together)`);
      out.push(renderColumns([c.by ?? '', 'active', 'TLH', 'cume', 'AQH', 'ATSL', 'starts'], groups));
    }
    const listeners = listenersSection(report, extras.daypart);
    if (listeners) out.push('', listeners);
  }

  const counted = new Map<string, number>();
  for (const s of report.sessions) counted.set(s.stream, (counted.get(s.stream) ?? 0) + 1);
  const shortTotal = [...extras.shortByStream.values()].reduce((a, b) => a + b, 0);
  out.push('');
  // The session list ignores the daypart (DESIGN section 7): say so where a daypart could mislead.
  const when = extras.daypart ? ', in or out of the daypart' : '';
  out.push(
    `Sessions  ${formatNumber(report.sessions.length)} counted, starting in the period${when}${byStreamText(counted)}`,
  );
  out.push(
    `          ${formatNumber(shortTotal)} tune-outs under ${c.minSession} s, not counted${byStreamText(extras.shortByStream)}`,
  );
  const skipped = extras.skipped > 0 ? `, ${formatNumber(extras.skipped)} invalid lines skipped` : '';
  if (extras.events !== undefined) out.push(`Events    ${formatNumber(extras.events)} read${skipped}`);
  return `${terminalSafe(out.join('\n'), { keepNewlines: true })}\n`;
}
