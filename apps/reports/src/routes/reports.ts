import {
  BREAKDOWN_DIMENSIONS,
  type BreakdownDimension,
  type BreakdownRow,
  REPORT_COLUMNS,
  type Report,
  type ReportSummary,
  reportCsv,
} from '@earshot/core';
import {
  breakdownsFromDb,
  daypartReportsFromDb,
  type ReportPart,
  reportFromDb,
  reportPeriod,
  sessionLengthHistogram,
} from '@earshot/db';
import { type Context, Hono } from 'hono';
import { accepts } from 'hono/accepts';
import { reportFileName } from '../file-name.js';
import { labelHistogram } from '../histogram.js';
import {
  badParameter,
  checkPeriodLength,
  type PeriodQuery,
  parseChoice,
  parseParts,
  parsePeriodQuery,
  shiftLocalDays,
} from '../params.js';
import type { Station } from '../stations.js';
import type { RouteDeps } from './deps.js';

/** A period query whose period is settled: `from` and `to` are always set. */
type SettledPeriod = PeriodQuery & { options: PeriodQuery['options'] & { from: number; to: number } };

// The summary's figures (every column but the stream), in report order.
const SUMMARY_FIELDS = REPORT_COLUMNS.summary.filter((c) => c !== 'stream') as readonly Exclude<
  keyof ReportSummary,
  'stream'
>[];

function compareSummaries(current: readonly ReportSummary[], previous: readonly ReportSummary[]) {
  const streams = [...new Set([...current.map((s) => s.stream), ...previous.map((s) => s.stream)])].sort();
  return streams.map((stream) => {
    const cur = current.find((s) => s.stream === stream) ?? null;
    const prev = previous.find((s) => s.stream === stream) ?? null;
    const delta: Record<string, { change: number; ratio: number | null }> = {};
    for (const field of SUMMARY_FIELDS) {
      const a = cur?.[field] ?? 0;
      const b = prev?.[field] ?? 0;
      delta[field] = { change: a - b, ratio: b !== 0 ? (a - b) / b : null };
    }
    return { stream, current: cur, previous: prev, delta };
  });
}

/** `/report` (JSON and CSV), `/dayparts` and `/breakdowns`: the section 7 reports over a period. */
export function reportRoutes({ db, defaults, stations }: RouteDeps): Hono {
  const routes = new Hono();
  // Parses the period parameters and settles the period: without from or to it is the data's extent
  // (core's default, so the report still equals the offline one), resolved here once so that the
  // length cap applies to it too and every query of the request sees the same period.
  const period = async (c: Context, extra: readonly string[] = []): Promise<SettledPeriod> => {
    const parsed = parsePeriodQuery(c.req.queries(), defaults, stations, extra);
    const opts = parsed.options;
    if (opts.from !== undefined && opts.to !== undefined) return parsed as SettledPeriod;
    const settled = await reportPeriod(db, opts);
    checkPeriodLength(settled, opts);
    return { ...parsed, options: { ...opts, ...settled } };
  };
  const stationInfo = (s: Station | undefined) =>
    s ? { station: { key: s.key, name: s.name, streams: s.streams } } : {};
  const configHeader = (report: Report) => ({ 'earshot-config': JSON.stringify(report.config) });

  routes.get('/report', async (c) => {
    const q = c.req.queries();
    const format =
      parseChoice(q, 'format', ['json', 'csv'] as const) ??
      (accepts(c, {
        header: 'Accept',
        supports: ['application/json', 'text/csv'],
        default: 'application/json',
      }) === 'text/csv'
        ? 'csv'
        : 'json');
    if (format === 'csv') {
      if (q.parts) throw badParameter('parts', 'parts is for JSON; a CSV holds one part: use part=...');
      const part =
        parseChoice<ReportPart>(q, 'part', ['summary', 'sessions', 'minutes', 'quarterHours', 'breakdown']) ??
        (q.by ? 'breakdown' : 'summary');
      const { options: opts, station } = await period(c, ['format', 'part']);
      if (part === 'breakdown' && opts.by === null)
        throw badParameter('part', 'the breakdown part needs by=country|device|os|player|output|class');
      const report = await reportFromDb(db, { ...opts, parts: [part] });
      const name = reportFileName(report, part, {
        station: station?.key,
        streams: opts.streams,
        daypartName: opts.daypart?.name,
      });
      return c.body(reportCsv(report, part), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
        ...configHeader(report),
      });
    }
    if (q.part) throw badParameter('part', 'part is for CSV; use parts=... for JSON');
    const parts = parseParts(q);
    const { options: opts, station } = await period(c, ['format', 'parts']);
    const report = await reportFromDb(db, { ...opts, ...(parts ? { parts } : {}) });
    return c.json({ ...report, ...stationInfo(station) }, 200, configHeader(report));
  });

  routes.get('/dayparts', async (c) => {
    if (c.req.query('daypart') !== undefined)
      throw badParameter('daypart', 'this endpoint reports every daypart');
    const { options: opts, station, dayparts } = await period(c);
    // One call for all of them: their cume shares one pass over the listener months.
    const [all, ...each] = await daypartReportsFromDb(db, opts, [null, ...dayparts]);
    const rows = dayparts.map((d, i) => ({ name: d.name, spec: d.spec, summary: each[i]!.summary }));
    return c.json({
      config: all!.config,
      ...stationInfo(station),
      dayparts: [{ name: 'All hours', spec: null, summary: all!.summary }, ...rows],
    });
  });

  routes.get('/breakdowns', async (c) => {
    const { options: opts, station } = await period(c);
    if (opts.by !== null)
      throw badParameter('by', 'this endpoint breaks the figures down by every dimension');
    const { from, to } = opts;
    const sel = { from, to, tz: opts.tz, daypart: opts.daypart, streams: opts.streams, basis: opts.basis };
    const previousFrom = shiftLocalDays(from, opts.tz, -7);
    const previousTo = shiftLocalDays(to, opts.tz, -7);
    // The group tables: every dimension but class (a net report has one class), and class when gross.
    const dimensions = BREAKDOWN_DIMENSIONS.filter((d) => d !== 'class' || opts.basis === 'gross');
    const [head, previous, histogram, tables] = await Promise.all([
      reportFromDb(db, { ...opts, parts: ['summary'] }),
      reportFromDb(db, { ...opts, from: previousFrom, to: previousTo, parts: ['summary'] }),
      sessionLengthHistogram(db, sel),
      // Every dimension at once: the audience rollups are read once for all of them.
      breakdownsFromDb(db, opts, dimensions),
    ]);
    const groups: Partial<Record<BreakdownDimension, BreakdownRow[]>> = {};
    for (const by of dimensions) groups[by] = tables.get(by) ?? [];
    return c.json({
      config: head.config,
      ...stationInfo(station),
      basis: `groups: the summary figures of the selected streams together, per value of each dimension (${head.config.basis}); histogram: counted sessions that start in the period's quarter-hours (daypart applied), with their whole listening time; the histogram's first bin holds the short sessions (tune-outs: under minSession, ${defaults.minSessionS} s), which are not counted anywhere else`,
      histogram: labelHistogram(histogram, defaults.minSessionS),
      comparison: {
        current: { from: head.config.from, to: head.config.to },
        previous: { from: previous.config.from, to: previous.config.to },
        streams: compareSummaries(head.summary, previous.summary),
      },
      groups,
    });
  });

  return routes;
}
