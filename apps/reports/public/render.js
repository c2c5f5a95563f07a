// @ts-check
// The page's elements and tables. Every number cell carries its exact value in data-value (and its
// field and row in data-field and data-row), so a reader can check the page against the API.
import { drawHistogram, drawMinutes, drawQuarterHours } from './charts.js';
import { clockIn, dateIn, fmt } from './format.js';

/** @typedef {import('./assets/core.js').Report} Report */
/** @typedef {import('./api.js').DaypartsBody} DaypartsBody */
/** @typedef {import('./api.js').BreakdownsBody} BreakdownsBody */
/** @typedef {import('./api.js').LiveSnapshot} LiveSnapshot */
/** @typedef {import('./charts.js').Charts} Charts */
/**
 * A table column: a text column shows the value as it is, any other one the figure rounded to
 * `digits` (default 2).
 * @typedef {{ key: string, label: string, text?: boolean, digits?: number }} Column
 */
/** @typedef {{ [key: string]: unknown, rowKey?: string }} Row */

/**
 * The element with id `id`, of class `type` when given (HTMLElement by default).
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {new () => T} [type]
 * @returns {T}
 */
export function $(id, type) {
  const el = document.getElementById(id);
  if (!el || (type && !(el instanceof type)))
    throw new Error(`the page has no #${id}${type ? ` (${type.name})` : ''}`);
  return /** @type {T} */ (el);
}

/**
 * The input or select with id `id`: a picker, whose value the page reads and sets.
 * @param {string} id
 * @returns {HTMLInputElement | HTMLSelectElement}
 */
export function field(id) {
  const el = $(id);
  if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) return el;
  throw new Error(`#${id} is no input or select`);
}

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
export function status(text, isError = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

/** @param {string} [message] shown as an error */
export function showTokenForm(message) {
  $('main').hidden = true;
  $('token-form').hidden = false;
  if (message) status(message, true);
}

/**
 * @param {string} tag
 * @param {string} text
 * @param {Record<string, unknown>} [attrs]
 */
function cell(tag, text, attrs = {}) {
  const el = document.createElement(tag);
  el.textContent = text;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * @param {HTMLElement} table
 * @param {Column[]} columns
 * @param {Row[]} rows
 */
function renderTable(table, columns, rows) {
  table.replaceChildren();
  const head = document.createElement('tr');
  for (const c of columns) head.append(cell('th', c.label));
  const thead = document.createElement('thead');
  thead.append(head);
  const tbody = document.createElement('tbody');
  for (const row of rows) {
    const tr = document.createElement('tr');
    for (const c of columns) {
      const value = row[c.key];
      if (c.text) tr.append(cell('td', String(value ?? '')));
      else
        tr.append(
          cell('td', fmt(value, c.digits), {
            'data-field': c.key,
            'data-value': value,
            'data-row': row.rowKey ?? '',
          }),
        );
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
}

/** @type {Column[]} */
const FIGURES = [
  { key: 'aqh', label: 'AQH' },
  { key: 'cume', label: 'Cume', digits: 0 },
  { key: 'tlh', label: 'TLH' },
  { key: 'aas', label: 'AAS' },
  { key: 'atsl', label: 'ATSL (s)', digits: 0 },
  { key: 'tsl', label: 'TSL (h)' },
];

/**
 * The report's config line, summary table and time charts.
 * @param {Report} report
 * @param {Charts} charts
 */
export function renderReport(report, charts) {
  const c = report.config;
  /** @param {string} iso */
  const local = (iso) => `${dateIn(Date.parse(iso), c.tz)} ${clockIn(Date.parse(iso), c.tz).slice(0, 5)}`;
  $('config').textContent =
    `${local(c.from)} to ${local(c.to)} ${c.tz} (${c.from} to ${c.to})${c.daypart ? `, daypart ${c.daypart}` : ''}; idle ${c.idle} s, min session ${c.minSession} s, ` +
    `AQH qualifier ${c.aqhQualifier} s, max session ${c.maxSession} s`;
  renderTable(
    $('summary'),
    [
      { key: 'stream', label: 'Stream', text: true },
      ...FIGURES,
      { key: 'tslNielsen', label: 'Nielsen TSL (h)' },
      { key: 'activeSessions', label: 'Active sessions', digits: 0 },
      { key: 'sessionStarts', label: 'Session starts', digits: 0 },
      { key: 'quarterHours', label: 'QHs', digits: 0 },
    ],
    report.summary.map((s) => ({ ...s, rowKey: s.stream })),
  );
  drawMinutes(charts, $('minutes-chart'), report);
  drawQuarterHours(charts, $('qh-chart'), report);
}

/** @param {DaypartsBody} body */
export function renderDayparts(body) {
  /** @type {Row[]} */
  const rows = [];
  for (const d of body.dayparts) {
    for (const s of d.summary) rows.push({ daypart: d.name, ...s, rowKey: `${d.name}|${s.stream}` });
  }
  renderTable(
    $('dayparts'),
    [
      { key: 'daypart', label: 'Daypart', text: true },
      { key: 'stream', label: 'Stream', text: true },
      ...FIGURES,
    ],
    rows,
  );
}

/**
 * The session-length histogram, as a table and a chart.
 * @param {BreakdownsBody} body
 * @param {Charts} charts
 */
export function renderBreakdowns(body, charts) {
  const bins = body.histogram;
  renderTable(
    $('histogram'),
    [
      { key: 'label', label: 'Length', text: true },
      { key: 'sessions', label: 'Sessions', digits: 0 },
    ],
    bins.map((b) => ({ ...b, rowKey: b.label })),
  );
  drawHistogram(charts, $('histogram-chart'), bins);
}

/**
 * Listening now: the people (sessions whose next event is still expected), at the snapshot's time
 * in `tz` (the report's zone, like every other time on the page).
 * @param {LiveSnapshot} snapshot
 * @param {string} tz
 */
export function renderLive(snapshot, tz) {
  $('live-at').textContent = `at ${clockIn(Date.parse(snapshot.at), tz)} ${tz}`;
  const tbody = $('live', HTMLTableElement).tBodies[0];
  if (!tbody) throw new Error('#live has no tbody');
  tbody.replaceChildren();
  for (const s of [...snapshot.streams, { stream: 'total', listeners: snapshot.total }]) {
    const tr = document.createElement('tr');
    tr.append(
      cell('td', s.stream),
      cell('td', fmt(s.listeners, 0), {
        'data-field': 'listeners',
        'data-value': s.listeners,
        'data-row': s.stream,
      }),
    );
    tbody.append(tr);
  }
}
