// Earshot dashboard: one page over the reports API. No build step; uPlot is served by the app
// from its npm package. The read token stays in localStorage and travels only in the
// Authorization header (never in an API URL).
import uPlot from '/vendor/uPlot.esm.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'earshot.readToken';
const COLORS = ['#2364aa', '#e4572e', '#17bebb', '#ffc914', '#76b041', '#8f3985', '#3d405b', '#ff7f11'];

/**
 * What the page shows, exposed for tests and the curious. `generation` counts the refreshes drawn
 * (also on <body data-generation>), so a reader can wait for a fresh one.
 */
const state = {
  report: null,
  dayparts: null,
  breakdowns: null,
  live: null,
  charts: {},
  query: '',
  tz: 'UTC',
  generation: 0,
};
window.__earshot = state;

function takeToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return localStorage.getItem(TOKEN_KEY);
}

let token = takeToken();

function status(text, isError = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

async function api(path, params) {
  const url = params ? `${path}?${params}` : path;
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 401) {
    localStorage.removeItem(TOKEN_KEY);
    showTokenForm('That token was refused.');
    throw new Error('unauthorized');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok)
    throw new Error(
      body?.parameter
        ? `${body.parameter}: ${body.reason}`
        : body?.error || `${res.status} ${res.statusText}`,
    );
  if (body === null) throw new Error(`${path}: not JSON`);
  return body;
}

function showTokenForm(message) {
  $('main').hidden = true;
  $('token-form').hidden = false;
  if (message) status(message, true);
}

const fmt = (v, digits = 2) =>
  v === null || v === undefined || Number.isNaN(v)
    ? ''
    : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits });

function cell(tag, text, attrs = {}) {
  const el = document.createElement(tag);
  el.textContent = text;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A table of figures: every number cell carries its exact value in data-value. */
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
      if (c.text) tr.append(cell('td', value ?? ''));
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

const FIGURES = [
  { key: 'aqh', label: 'AQH' },
  { key: 'cume', label: 'Cume', digits: 0 },
  { key: 'tlh', label: 'TLH' },
  { key: 'aas', label: 'AAS' },
  { key: 'atsl', label: 'ATSL (s)', digits: 0 },
  { key: 'tsl', label: 'TSL (h)' },
];

function chart(key, el, opts, data) {
  state.charts[key]?.destroy();
  el.replaceChildren();
  const width = Math.max(320, el.clientWidth || 900);
  state.charts[key] = new uPlot({ width, height: 240, ...opts }, data, el);
}

/** uPlot draws time axes and legends in the browser's zone unless told: the report's zone instead. */
const inZone = (tz) => (ts) => uPlot.tzDate(new Date(ts * 1e3), tz);

const zoneFormats = new Map();
/** `14:05:09` in the zone (24-hour). */
function clockIn(ms, tz) {
  let f = zoneFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    zoneFormats.set(tz, f);
  }
  return f.format(ms);
}

/** `2026-11-01` in the zone. */
function dateIn(ms, tz) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(ms);
  const get = (type) => parts.find((p) => p.type === type)?.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Aligns per-stream rows onto one time axis (missing = 0), for uPlot. */
function align(rows, timeKey, pick) {
  const streams = [...new Set(rows.map((r) => r.stream))].sort();
  const times = [...new Set(rows.map((r) => Date.parse(r[timeKey])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = streams.map(() => new Array(times.length).fill(0));
  for (const r of rows) series[streams.indexOf(r.stream)][index.get(Date.parse(r[timeKey]))] = pick(r);
  return { streams, data: [times.map((t) => t / 1000), ...series] };
}

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

function renderReport(report) {
  const c = report.config;
  const tzDate = inZone(c.tz);
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
  const minutes = align(report.minutes, 'minute', (m) => m.listeners);
  chart(
    'minutes',
    $('minutes-chart'),
    { tzDate, series: seriesOf(minutes.streams), axes: [{}, { label: 'listeners' }] },
    minutes.data,
  );
  const qhs = align(report.quarterHours, 'start', (q) => q.qualified);
  chart(
    'quarterHours',
    $('qh-chart'),
    {
      tzDate,
      series: seriesOf(qhs.streams, uPlot.paths.stepped({ align: 1 })),
      axes: [{}, { label: 'sessions' }],
    },
    qhs.data,
  );
}

function renderDayparts(body) {
  const rows = [];
  for (const d of body.dayparts) {
    for (const s of d.summary)
      rows.push({ daypart: d.name, stream: s.stream, ...s, rowKey: `${d.name}|${s.stream}` });
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

function renderBreakdowns(body) {
  const bins = body.histogram;
  renderTable(
    $('histogram'),
    [
      { key: 'label', label: 'Length', text: true },
      { key: 'sessions', label: 'Sessions', digits: 0 },
    ],
    bins.map((b) => ({ ...b, rowKey: b.label })),
  );
  chart(
    'histogram',
    $('histogram-chart'),
    {
      scales: { x: { time: false, range: [-0.5, bins.length - 0.5] } },
      series: [
        {},
        {
          label: 'sessions',
          stroke: COLORS[0],
          fill: `${COLORS[0]}88`,
          paths: uPlot.paths.bars({ size: [0.7] }),
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

function renderLive(snapshot) {
  state.live = snapshot;
  // In the report's zone, like every other time on the page.
  $('live-at').textContent = `at ${clockIn(Date.parse(snapshot.at), state.tz)} ${state.tz}`;
  const tbody = $('live').tBodies[0];
  tbody.replaceChildren();
  for (const s of [...snapshot.streams, { stream: 'total', listeners: snapshot.total }]) {
    const tr = document.createElement('tr');
    tr.append(
      cell('td', s.stream),
      cell('td', fmt(s.listeners, 1), {
        'data-field': 'listeners',
        'data-value': s.listeners,
        'data-row': s.stream,
      }),
    );
    tbody.append(tr);
  }
}

let following = false;

/** Server-Sent Events over fetch, so the token goes in a header (EventSource cannot send one). */
async function followLive() {
  if (following) return;
  following = true;
  for (;;) {
    try {
      const res = await fetch('/v1/live/stream', {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      });
      if (res.status === 401) {
        following = false;
        localStorage.removeItem(TOKEN_KEY);
        showTokenForm('That token was refused.');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`live: ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          buffer = buffer.slice(end + 2);
          if (data) renderLive(JSON.parse(data));
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // fall through to the retry
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}

const addDays = (date, days) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** The last minute with listening (epoch ms, from /v1/streams), or null when there is none. */
let lastDataMs = null;

/**
 * The API's own default period is all the data there is; the page always asks for an explicit one:
 * empty pickers become the seven local days that end with the last day with listening.
 */
function settlePeriod() {
  let tz = $('tz').value || state.tz;
  try {
    dateIn(0, tz);
  } catch {
    tz = state.tz; // a zone being typed: the API names it in its 400
  }
  if (!$('to').value)
    $('to').value = $('from').value ? addDays($('from').value, 6) : dateIn(lastDataMs ?? Date.now(), tz);
  if (!$('from').value) $('from').value = addDays($('to').value, -6);
}

function currentParams(extra = {}) {
  const p = new URLSearchParams();
  settlePeriod();
  p.set('from', $('from').value);
  // The picker's "to" day is included: the period ends at the next local midnight.
  p.set('to', addDays($('to').value, 1));
  if ($('tz').value) p.set('tz', $('tz').value);
  const scope = $('scope').value;
  if (scope.startsWith('station:')) p.set('station', scope.slice(8));
  else if (scope.startsWith('stream:')) p.append('stream', scope.slice(7));
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p;
}

let refreshes = 0;

async function refresh() {
  const generation = ++refreshes;
  document.body.dataset.ready = 'false';
  status('loading...');
  try {
    const withDaypart = currentParams($('daypart').value ? { daypart: $('daypart').value } : {});
    state.query = withDaypart.toString();
    const reportParams = new URLSearchParams(withDaypart);
    reportParams.set('parts', 'summary,minutes,quarterHours');
    const [report, dayparts, breakdowns] = await Promise.all([
      api('/v1/report', reportParams),
      api('/v1/dayparts', currentParams()),
      api('/v1/breakdowns', withDaypart),
    ]);
    // A later refresh started while this one ran: its answers are the ones to show.
    if (generation !== refreshes) return;
    state.report = report;
    state.tz = report.config.tz;
    state.dayparts = dayparts;
    state.breakdowns = breakdowns;
    renderReport(report);
    renderDayparts(dayparts);
    renderBreakdowns(breakdowns);
    const csv = new URLSearchParams(withDaypart);
    csv.set('format', 'csv');
    csv.set('part', $('csv-part').value);
    $('csv-link').href = `/v1/report?${csv}`;
    if (state.live) renderLive(state.live);
    status(`updated ${clockIn(Date.now(), state.tz)} ${state.tz}`);
    state.generation = generation;
    document.body.dataset.generation = String(generation);
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (generation !== refreshes) return;
    status(error.message, true);
    document.body.dataset.failed = String(generation);
  }
}

async function downloadCsv(event) {
  event.preventDefault();
  // The report on the page, not pickers changed since without pressing Show.
  const csv = new URLSearchParams(state.query);
  csv.set('format', 'csv');
  csv.set('part', $('csv-part').value);
  const res = await fetch(`/v1/report?${csv}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    return status(`CSV: ${body?.parameter ? `${body.parameter}: ${body.reason}` : res.status}`, true);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'earshot.csv';
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  // Revoked later: some browsers start reading the blob only after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

let started = false;

async function start() {
  $('token-form').hidden = true;
  $('main').hidden = false;
  const meta = await api('/v1/streams');
  state.tz = meta.settings.tz;
  $('tz').value = meta.settings.tz;
  const last = meta.streams.map((s) => Date.parse(s.lastMinute));
  lastDataMs = last.length > 0 ? Math.max(...last) : null;
  for (const z of [
    'UTC',
    meta.settings.tz,
    ...meta.stations.map((s) => s.tz),
    'America/New_York',
    'Europe/London',
    'Europe/Berlin',
  ]) {
    if (![...$('zones').options].some((o) => o.value === z)) $('zones').append(new Option(z, z));
  }
  const scope = $('scope');
  const keepScope = scope.value;
  scope.replaceChildren(new Option('All streams', ''));
  for (const s of meta.stations) scope.append(new Option(`Station ${s.name}`, `station:${s.key}`));
  for (const s of meta.streams) scope.append(new Option(s.stream, `stream:${s.stream}`));
  const fillDayparts = () => {
    const station = meta.stations.find((s) => `station:${s.key}` === scope.value);
    const select = $('daypart');
    const keep = select.value;
    select.replaceChildren(new Option('All hours', ''));
    for (const d of [...(station?.dayparts ?? []), ...meta.dayparts])
      select.append(new Option(`${d.name} (${d.spec})`, d.name));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
    if (station) $('tz').value = station.tz;
  };
  if ([...scope.options].some((o) => o.value === keepScope)) scope.value = keepScope;
  scope.onchange = fillDayparts;
  fillDayparts();
  const url = new URL(location.href);
  if (!started)
    for (const key of ['from', 'to', 'tz', 'daypart'])
      if (url.searchParams.get(key)) $(key).value = url.searchParams.get(key);
  started = true;
  await refresh();
  followLive();
}

$('pickers').addEventListener('submit', (e) => {
  e.preventDefault();
  refresh();
});
$('csv-link').addEventListener('click', downloadCsv);
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token-input').value.trim();
  localStorage.setItem(TOKEN_KEY, token);
  start().catch((error) => status(error.message, true));
});

if (token) start().catch((error) => status(error.message, true));
else showTokenForm();
