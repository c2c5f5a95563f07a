// @ts-check
// The page's elements and tables. Every number cell carries its exact value in data-value (and its
// field and row in data-field and data-row), so a reader can check the page against the API.
import { drawHistogram, drawMinutes, drawQuarterHours } from './charts.js';
import { clockIn, dateIn, fmt, groupLabel, percent } from './format.js';

/** @typedef {import('./assets/core.js').Report} Report */
/** @typedef {import('./api.js').DaypartsBody} DaypartsBody */
/** @typedef {import('./api.js').BreakdownsBody} BreakdownsBody */
/** @typedef {import('./api.js').LiveSnapshot} LiveSnapshot */
/** @typedef {import('./charts.js').Charts} Charts */
/** @typedef {import('./api.js').BreakdownRow} BreakdownRow */
/** @typedef {import('./api.js').TrackReport} TrackReport */
/** @typedef {import('./api.js').TrackPlay} TrackPlay */
/**
 * A table column: a text column shows the value as it is (or as `show` names it; `tagged` gives its
 * cell the data- attributes too), a `bar` column a share (0..1) as a bar with its percentage, any
 * other one the figure rounded to `digits` (default 2), or as `format` prints it; `mark` gives a figure's
 * cell the class `high` when it holds.
 * @typedef {{ key: string, label: string, text?: boolean, show?: (value: string) => string, tagged?: boolean, bar?: boolean, digits?: number, format?: (value: unknown) => string, mark?: (value: unknown) => boolean }} Column
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
      const attrs = { 'data-field': c.key, 'data-value': value, 'data-row': row.rowKey ?? '' };
      if (c.text) {
        const text = String(value ?? '');
        const td = cell('td', c.show ? c.show(text) : text, c.tagged ? attrs : {});
        if (c.show && c.show(text) !== text) td.title = text;
        tr.append(td);
      } else if (c.bar) {
        const share = typeof value === 'number' ? value : null;
        const td = cell('td', '', { ...attrs, class: 'share' });
        const fill = cell('span', '', { class: 'fill' });
        fill.style.width = `${Math.max(0, Math.min(1, share ?? 0)) * 100}%`;
        const bar = cell('span', '', { class: 'bar', 'aria-hidden': 'true' });
        bar.append(fill);
        td.append(bar, cell('span', percent(share), { class: 'pct' }));
        tr.append(td);
      } else {
        const td = cell('td', c.format ? c.format(value) : fmt(value, c.digits), attrs);
        if (c.mark?.(value)) td.classList.add('high');
        tr.append(td);
      }
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

/** What each basis counts, as the page says it. */
const BASIS_TEXT = {
  net: 'Net: people only. Bots, relays and monitors are left out of every figure.',
  gross: 'Gross: every counted session, bots, relays and monitors included.',
};

/**
 * The report's config line, basis, summary table, sessions counted apart and time charts.
 * @param {Report} report
 * @param {Charts} charts
 */
export function renderReport(report, charts) {
  const c = report.config;
  /** @param {string} iso */
  const local = (iso) => `${dateIn(Date.parse(iso), c.tz)} ${clockIn(Date.parse(iso), c.tz).slice(0, 5)}`;
  const leftRunningH = `${fmt(c.leftRunning / 3600, 1)} h`;
  $('config').textContent =
    `${local(c.from)} to ${local(c.to)} ${c.tz} (${c.from} to ${c.to})${c.daypart ? `, daypart ${c.daypart}` : ''}; ${c.basis}; idle ${c.idle} s, min session ${c.minSession} s, ` +
    `AQH qualifier ${c.aqhQualifier} s, max session ${c.maxSession} s, left running from ${c.leftRunning} s`;
  const basis = $('basis');
  basis.textContent = BASIS_TEXT[c.basis];
  basis.dataset.basis = c.basis;
  document.body.dataset.basis = c.basis;
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
  renderCountedApart(report, leftRunningH);
  drawMinutes(charts, $('minutes-chart'), report);
  drawQuarterHours(charts, $('qh-chart'), report);
}

/**
 * The summary's sessions counted apart, per stream and in all: the non-human ones by reason (left out
 * of net figures, included in gross ones) and those left running (kept either way).
 * @param {Report} report
 * @param {string} leftRunningH the left-running threshold, as shown
 */
function renderCountedApart(report, leftRunningH) {
  const net = report.config.basis === 'net';
  /** @type {Column[]} */
  const columns = [
    { key: 'stream', label: 'Stream', text: true },
    { key: 'excludedBot', label: 'Bots', digits: 0 },
    { key: 'excludedRelay', label: 'Relays', digits: 0 },
    { key: 'excludedMonitor', label: 'Monitors', digits: 0 },
    { key: 'leftRunning', label: `Left running (${leftRunningH}+)`, digits: 0 },
  ];
  /** @type {Row[]} */
  const rows = report.summary.map((s) => ({ ...s, rowKey: s.stream }));
  if (report.summary.length > 1) {
    /** @type {Row} */
    const total = { stream: 'All streams', rowKey: 'total' };
    for (const c of columns.slice(1))
      total[c.key] = report.summary.reduce((n, s) => n + Number(s[/** @type {'leftRunning'} */ (c.key)]), 0);
    rows.push(total);
  }
  renderTable($('counted-apart'), columns, rows);
  $('counted-apart-note').textContent =
    `Active sessions of bots, relays (other servers re-streaming) and the station's monitors: ${net ? 'left out of the figures above' : 'counted in the figures above'}. ` +
    `Left running: ${net ? 'human ' : ''}sessions with ${leftRunningH} or more of listening in all, kept in the figures and counted here apart.`;
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

/** The dimensions of /v1/breakdowns' groups, in the page's order, with their headings. */
const DIMENSIONS = /** @type {const} */ ([
  ['country', 'Country'],
  ['device', 'Device'],
  ['os', 'OS'],
  ['player', 'Player'],
  ['output', 'Output'],
  ['class', 'Class'],
]);

/**
 * One table per dimension of the breakdowns' groups (the selected streams together): the group,
 * its sessions, TLH, cume and AQH, and its share of the TLH as a bar, by TLH, largest first.
 * @param {BreakdownsBody} body
 */
export function renderGroups(body) {
  const host = $('groups');
  host.replaceChildren();
  for (const [dimension, heading] of DIMENSIONS) {
    const rows = body.groups[dimension];
    if (!rows) continue;
    const tlh = rows.reduce((n, r) => n + r.tlh, 0);
    const sorted = [...rows].sort(
      (a, b) => b.tlh - a.tlh || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0),
    );
    const table = cell('table', '', {
      id: `group-${dimension}`,
      class: 'figures',
      'data-dimension': dimension,
    });
    renderTable(
      table,
      [
        { key: 'group', label: heading, text: true, tagged: true, show: (g) => groupLabel(dimension, g) },
        { key: 'activeSessions', label: 'Sessions', digits: 0 },
        { key: 'tlh', label: 'TLH' },
        { key: 'cume', label: 'Cume', digits: 0 },
        { key: 'aqh', label: 'AQH' },
        { key: 'share', label: 'TLH share', bar: true },
      ],
      sorted.map((r) => ({ ...r, share: tlh > 0 ? r.tlh / tlh : null, rowKey: r.group })),
    );
    if (sorted.length === 0) {
      const empty = cell('td', 'No listening in the period.', { colspan: 6, class: 'empty' });
      const tr = document.createElement('tr');
      tr.append(empty);
      table.querySelector('tbody')?.append(tr);
    }
    host.append(table);
  }
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

/** Rows of the last plays table. */
export const LAST_PLAYS = 50;
/** Rows of the top songs table. */
export const TOP_SONGS = 20;
/** A tune-out index over this is marked: listeners left half as much again as usual. */
export const HIGH_TUNE_OUT_INDEX = 1.5;

/**
 * A tune-out index with two decimals, '-' when there is none.
 * @param {unknown} v
 */
export const tuneOutIndexText = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : '-');
/** @param {unknown} v */
const highIndex = (v) => typeof v === 'number' && v > HIGH_TUNE_OUT_INDEX;

/**
 * The plays most recent first: by start, latest first, then stream, then id.
 * @param {readonly TrackPlay[]} plays
 */
export function latestPlays(plays) {
  return [...plays].sort(
    (a, b) =>
      Date.parse(b.start) - Date.parse(a.start) ||
      (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/**
 * What each stream plays now: its latest play in the period, when that play has not ended yet
 * (its end, the next track's start, its duration or the period's end, is after `nowMs`).
 * @param {TrackReport} report
 * @param {number} nowMs
 * @returns {TrackPlay[]} by stream
 */
export function nowPlaying(report, nowMs) {
  /** @type {Map<string, TrackPlay>} */
  const latest = new Map();
  for (const play of latestPlays(report.plays)) if (!latest.has(play.stream)) latest.set(play.stream, play);
  return [...latest.values()]
    .filter((p) => !p.end || Date.parse(p.end) > nowMs)
    .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
}

/**
 * `2026-11-01 14:05:09` in the zone.
 * @param {string} iso
 * @param {string} tz
 */
const localStamp = (iso, tz) => `${dateIn(Date.parse(iso), tz)} ${clockIn(Date.parse(iso), tz)}`;

/**
 * Now playing: each stream's current play with the people listening to that stream now (from the
 * live snapshot, when one came). Drawn again on each snapshot.
 * @param {TrackReport} report
 * @param {LiveSnapshot | null} live
 * @param {number} nowMs
 */
export function renderNowPlaying(report, live, nowMs) {
  const tz = report.config.tz;
  const tbody = $('now-playing', HTMLTableElement).tBodies[0];
  if (!tbody) throw new Error('#now-playing has no tbody');
  tbody.replaceChildren();
  const playing = nowPlaying(report, nowMs);
  for (const p of playing) {
    const tr = document.createElement('tr');
    tr.dataset.row = p.stream;
    const listeners = live ? (live.streams.find((s) => s.stream === p.stream)?.listeners ?? 0) : null;
    tr.append(
      cell('td', p.stream, { 'data-field': 'stream', 'data-value': p.stream, 'data-row': p.stream }),
      cell('td', p.title, { 'data-field': 'title', 'data-value': p.title, 'data-row': p.stream }),
      cell('td', p.artist, { 'data-field': 'artist', 'data-value': p.artist, 'data-row': p.stream }),
      cell('td', localStamp(p.start, tz), {
        'data-field': 'start',
        'data-value': p.start,
        'data-row': p.stream,
      }),
      cell('td', listeners === null ? '' : fmt(listeners, 0), {
        'data-field': 'listeners',
        'data-value': listeners ?? '',
        'data-row': p.stream,
      }),
    );
    tbody.append(tr);
  }
  if (playing.length === 0) {
    const tr = document.createElement('tr');
    tr.append(cell('td', 'Nothing playing now in the period.', { colspan: 5, class: 'empty' }));
    tbody.append(tr);
  }
}

/**
 * @param {HTMLElement} table
 * @param {string} text
 * @param {number} columns
 */
function emptyRow(table, text, columns) {
  const tr = document.createElement('tr');
  tr.append(cell('td', text, { colspan: columns, class: 'empty' }));
  table.querySelector('tbody')?.append(tr);
}

/**
 * The tracks section's tables: the last plays (most recent first) and the top songs (by
 * performances, as /v1/tracks orders them), with now playing.
 * @param {TrackReport} report
 * @param {LiveSnapshot | null} live
 * @param {number} nowMs
 */
export function renderTracks(report, live, nowMs) {
  const tz = report.config.tz;
  /** @type {Column} */
  const index = { key: 'tuneOutIndex', label: 'Tune-out index', format: tuneOutIndexText, mark: highIndex };
  const plays = latestPlays(report.plays).slice(0, LAST_PLAYS);
  /** @type {Column[]} */
  const playColumns = [
    { key: 'start', label: 'Started', text: true, tagged: true, show: (iso) => localStamp(iso, tz) },
    { key: 'stream', label: 'Stream', text: true, tagged: true },
    { key: 'track', label: 'Artist - title', text: true, tagged: true },
    { key: 'kind', label: 'Kind', text: true, tagged: true },
    { key: 'listenersAtStart', label: 'Listeners at start', digits: 0 },
    { key: 'performances', label: 'Performances', digits: 0 },
    { key: 'tlh', label: 'TLH' },
    { key: 'tuneOuts', label: 'Tune-outs', digits: 0 },
    index,
  ];
  renderTable(
    $('plays'),
    playColumns,
    plays.map((p) => ({ ...p, track: p.artist ? `${p.artist} - ${p.title}` : p.title, rowKey: p.id })),
  );
  if (plays.length === 0) emptyRow($('plays'), 'No plays in the period.', playColumns.length);
  const songs = report.songs.slice(0, TOP_SONGS);
  /** @type {Column[]} */
  const songColumns = [
    { key: 'artist', label: 'Artist', text: true, tagged: true },
    { key: 'title', label: 'Title', text: true, tagged: true },
    { key: 'plays', label: 'Plays', digits: 0 },
    { key: 'performances', label: 'Performances', digits: 0 },
    { key: 'tlh', label: 'TLH' },
    index,
  ];
  renderTable(
    $('songs'),
    songColumns,
    songs.map((s) => ({ ...s, rowKey: s.key })),
  );
  if (songs.length === 0) emptyRow($('songs'), 'No songs in the period.', songColumns.length);
  renderNowPlaying(report, live, nowMs);
}
