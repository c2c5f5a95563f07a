// Earshot dashboard: one page over the reports API. No build step; uPlot is served by the app
// from its npm package. The read token stays in localStorage and travels only in the
// Authorization header (never in an API URL).
import uPlot from '/vendor/uPlot.esm.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'earshot.readToken';
const COLORS = ['#2364aa', '#e4572e', '#17bebb', '#ffc914', '#76b041', '#8f3985', '#3d405b', '#ff7f11'];

/** What the page shows, exposed for tests and the curious. */
const state = { report: null, dayparts: null, breakdowns: null, live: null, charts: {}, query: '' };
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
  const body = await res.json();
  if (!res.ok)
    throw new Error(body.parameter ? `${body.parameter}: ${body.reason}` : body.error || res.statusText);
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
  $('config').textContent =
    `${c.from} to ${c.to} (${c.tz})${c.daypart ? `, daypart ${c.daypart}` : ''}; idle ${c.idle} s, min session ${c.minSession} s, ` +
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
    { series: seriesOf(minutes.streams), axes: [{}, { label: 'listeners' }] },
    minutes.data,
  );
  const qhs = align(report.quarterHours, 'start', (q) => q.qualified);
  chart(
    'quarterHours',
    $('qh-chart'),
    { series: seriesOf(qhs.streams, uPlot.paths.stepped({ align: 1 })), axes: [{}, { label: 'sessions' }] },
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
      { key: 'short', label: 'of which tune-outs', digits: 0 },
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
  $('live-at').textContent = `at ${new Date(snapshot.at).toLocaleTimeString()}`;
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

/** Server-Sent Events over fetch, so the token goes in a header (EventSource cannot send one). */
async function followLive() {
  for (;;) {
    try {
      const res = await fetch('/v1/live/stream', {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      });
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

const nextDay = (date) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

function currentParams(extra = {}) {
  const p = new URLSearchParams();
  if ($('from').value) p.set('from', $('from').value);
  if ($('to').value) p.set('to', nextDay($('to').value));
  if ($('tz').value) p.set('tz', $('tz').value);
  const scope = $('scope').value;
  if (scope.startsWith('station:')) p.set('station', scope.slice(8));
  else if (scope.startsWith('stream:')) p.append('stream', scope.slice(7));
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p;
}

async function refresh() {
  status('loading...');
  const withDaypart = currentParams($('daypart').value ? { daypart: $('daypart').value } : {});
  state.query = withDaypart.toString();
  const reportParams = new URLSearchParams(withDaypart);
  reportParams.set('parts', 'summary,minutes,quarterHours');
  try {
    const [report, dayparts, breakdowns] = await Promise.all([
      api('/v1/report', reportParams),
      api('/v1/dayparts', currentParams()),
      api('/v1/breakdowns', withDaypart),
    ]);
    state.report = report;
    state.dayparts = dayparts;
    state.breakdowns = breakdowns;
    renderReport(report);
    renderDayparts(dayparts);
    renderBreakdowns(breakdowns);
    const csv = new URLSearchParams(withDaypart);
    csv.set('format', 'csv');
    csv.set('part', $('csv-part').value);
    $('csv-link').href = `/v1/report?${csv}`;
    status(`updated ${new Date().toLocaleTimeString()}`);
    document.body.dataset.ready = 'true';
  } catch (error) {
    status(error.message, true);
  }
}

async function downloadCsv(event) {
  event.preventDefault();
  const csv = currentParams($('daypart').value ? { daypart: $('daypart').value } : {});
  csv.set('format', 'csv');
  csv.set('part', $('csv-part').value);
  const res = await fetch(`/v1/report?${csv}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) return status(`CSV: ${res.status}`, true);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'earshot.csv';
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

async function start() {
  $('token-form').hidden = true;
  $('main').hidden = false;
  const meta = await api('/v1/streams');
  $('tz').value = meta.settings.tz;
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
  scope.addEventListener('change', fillDayparts);
  fillDayparts();
  const url = new URL(location.href);
  for (const key of ['from', 'to', 'tz', 'daypart'])
    if (url.searchParams.get(key)) $(key).value = url.searchParams.get(key);
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
