// @ts-check
// The page's charts, drawn with uPlot (served by the app from its npm package). Time axes and
// legends are in the report's zone: uPlot draws them in the browser's unless told.
import uPlot from './vendor/uPlot.esm.js';

/** @typedef {import('./assets/core.js').Report} Report */
/** @typedef {import('./api.js').HistogramBin} HistogramBin */
/** The charts on the page by name, exposed for tests. @typedef {Record<string, uPlot>} Charts */

const COLORS = ['#2364aa', '#e4572e', '#17bebb', '#ffc914', '#76b041', '#8f3985', '#3d405b', '#ff7f11'];
const HEIGHT = 240;

/**
 * A path builder factory: optional in uPlot's types, always there in its ESM build.
 * @template F
 * @param {F | undefined} factory
 * @param {string} name
 * @returns {F}
 */
function builder(factory, name) {
  if (!factory) throw new Error(`uPlot without its ${name} path builder`);
  return factory;
}
const stepped = builder(uPlot.paths.stepped, 'stepped');
const bars = builder(uPlot.paths.bars, 'bars');

/**
 * Draws `data` into `el` as chart `key`, replacing the chart drawn there before.
 * @param {Charts} charts
 * @param {string} key
 * @param {HTMLElement} el
 * @param {Omit<uPlot.Options, 'width' | 'height'>} opts
 * @param {uPlot.AlignedData} data
 */
function draw(charts, key, el, opts, data) {
  charts[key]?.destroy();
  el.replaceChildren();
  const width = Math.max(320, el.clientWidth || 900);
  charts[key] = new uPlot({ width, height: HEIGHT, ...opts }, data, el);
}

/**
 * uPlot's clock for `tz`: epoch seconds to a Date that reads as the zone's wall time.
 * @param {string} tz
 * @returns {uPlot.LocalDateFromUnix}
 */
const inZone = (tz) => (ts) => uPlot.tzDate(new Date(ts * 1e3), tz);

/**
 * Aligns per-stream rows onto one time axis (missing = 0), for uPlot: epoch seconds, then one
 * series per stream in stream order.
 * @template {{ stream: string }} R
 * @param {R[]} rows
 * @param {(row: R) => string} timeOf ISO-8601
 * @param {(row: R) => number} pick
 */
function align(rows, timeOf, pick) {
  const streams = [...new Set(rows.map((r) => r.stream))].sort();
  const times = [...new Set(rows.map((r) => Date.parse(timeOf(r))))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = new Map(streams.map((s) => [s, new Array(times.length).fill(0)]));
  for (const r of rows) {
    const at = index.get(Date.parse(timeOf(r)));
    const values = series.get(r.stream);
    if (values && at !== undefined) values[at] = pick(r);
  }
  /** @type {uPlot.AlignedData} */
  const data = [times.map((t) => t / 1000), ...series.values()];
  return { streams, data };
}

/**
 * One coloured series per stream, after the x series; filled when drawn with `paths`.
 * @param {string[]} streams
 * @param {uPlot.Series.PathBuilder} [paths]
 * @returns {uPlot.Series[]}
 */
function seriesOf(streams, paths) {
  return [
    {},
    ...streams.map((s, i) => ({
      label: s,
      stroke: COLORS[i % COLORS.length],
      width: 1.5,
      ...(paths ? { paths, fill: `${COLORS[i % COLORS.length]}55` } : {}),
    })),
  ];
}

/**
 * A chart of per-stream series over time, in zone `tz`: one line per stream, or a filled shape
 * drawn with `paths`.
 * @param {Charts} charts
 * @param {string} key
 * @param {HTMLElement} el
 * @param {string} tz
 * @param {{ streams: string[], data: uPlot.AlignedData }} aligned
 * @param {string} yLabel
 * @param {uPlot.Series.PathBuilder} [paths]
 */
function drawOverTime(charts, key, el, tz, { streams, data }, yLabel, paths) {
  draw(
    charts,
    key,
    el,
    { tzDate: inZone(tz), series: seriesOf(streams, paths), axes: [{}, { label: yLabel }] },
    data,
  );
}

/**
 * Listeners per minute, one line per stream.
 * @param {Charts} charts
 * @param {HTMLElement} el
 * @param {Report} report
 */
export function drawMinutes(charts, el, report) {
  const minutes = align(
    report.minutes,
    (m) => m.minute,
    (m) => m.listeners,
  );
  drawOverTime(charts, 'minutes', el, report.config.tz, minutes, 'listeners');
}

/**
 * Qualified sessions per quarter-hour (the QHs' AQH contributions), one step shape per stream.
 * @param {Charts} charts
 * @param {HTMLElement} el
 * @param {Report} report
 */
export function drawQuarterHours(charts, el, report) {
  const qhs = align(
    report.quarterHours,
    (q) => q.start,
    (q) => q.qualified,
  );
  drawOverTime(charts, 'quarterHours', el, report.config.tz, qhs, 'sessions', stepped({ align: 1 }));
}

/**
 * The session-length histogram: one bar per bin, labelled with the bin.
 * @param {Charts} charts
 * @param {HTMLElement} el
 * @param {HistogramBin[]} bins
 */
export function drawHistogram(charts, el, bins) {
  draw(
    charts,
    'histogram',
    el,
    {
      scales: { x: { time: false, range: [-0.5, bins.length - 0.5] } },
      series: [
        {},
        {
          label: 'sessions',
          stroke: COLORS[0],
          fill: `${COLORS[0]}88`,
          paths: bars({ size: [0.7] }),
        },
      ],
      axes: [
        { values: (_u, ticks) => ticks.map((t) => bins[t]?.label ?? ''), space: 60 },
        { label: 'sessions' },
      ],
    },
    [bins.map((_b, i) => i), bins.map((b) => b.sessions)],
  );
}
