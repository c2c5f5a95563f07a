// @ts-check
// Earshot dashboard, the entry module: one page over the reports API, no build step. The pickers,
// the refresh that fetches and draws a report, the CSV download and the token form. Its parts:
// api.js (API and live feed), format.js (figures and times, with @earshot/core's zone code),
// charts.js (uPlot) and render.js (elements and tables).
import { createClient, takeToken } from './api.js';
import { isValidTimeZone } from './assets/core.js';
import { addDays, clockIn, dateIn } from './format.js';
import {
  $,
  field,
  renderBreakdowns,
  renderDayparts,
  renderGroups,
  renderLive,
  renderNowPlaying,
  renderReport,
  renderTracks,
  showTokenForm,
  status,
} from './render.js';

/**
 * What the page shows, exposed for tests and the curious. `generation` counts the refreshes drawn
 * (also on <body data-generation>), so a reader can wait for a fresh one.
 */
const state = {
  /** @type {import('./api.js').Report | null} */
  report: null,
  /** @type {import('./api.js').DaypartsBody | null} */
  dayparts: null,
  /** @type {import('./api.js').BreakdownsBody | null} */
  breakdowns: null,
  /** @type {import('./api.js').TrackReport | null} */
  tracks: null,
  /** @type {import('./api.js').LiveSnapshot | null} */
  live: null,
  /** @type {import('./charts.js').Charts} */
  charts: {},
  query: '',
  tz: 'UTC',
  generation: 0,
};
/** @type {Window & { __earshot?: typeof state }} */ (window).__earshot = state;

const client = createClient({
  token: takeToken(),
  onRefused: () => showTokenForm('That token was refused.'),
});

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

/**
 * Marks the page drawn once the first refresh and a live snapshot are both on it: every call the
 * first view makes has answered and been rendered. `<body data-drawn>` and the performance mark
 * `earshot:drawn` (milliseconds from navigation) are what the benchmark and tests wait for.
 */
function markDrawn() {
  if (document.body.dataset.drawn || !state.live || state.generation === 0) return;
  document.body.dataset.drawn = 'true';
  performance.mark('earshot:drawn');
}

/** @param {import('./api.js').LiveSnapshot} snapshot */
function showLive(snapshot) {
  state.live = snapshot;
  renderLive(snapshot, state.tz);
  if (state.tracks) renderNowPlaying(state.tracks, snapshot, Date.now());
  markDrawn();
}

/** The query of the tracks section (the period, streams and basis shown; no daypart). */
let tracksQuery = '';

/** The SoundExchange report of the period shown, for the service named in the input. */
function setSoundExchangeLink() {
  const p = new URLSearchParams(tracksQuery);
  p.set('service', field('sx-service').value.trim() || 'EARSHOT');
  p.set('category', 'A');
  $('sx-link', HTMLAnchorElement).href = `/v1/soundexchange?${p}`;
}

/** The last minute with listening (epoch ms, from /v1/streams), or null when there is none. */
/** @type {number | null} */
let lastDataMs = null;

/**
 * The API's own default period is all the data there is; the page always asks for an explicit one:
 * empty pickers become the seven local days that end with the last day with listening.
 */
function settlePeriod() {
  let tz = field('tz').value || state.tz;
  if (!isValidTimeZone(tz)) tz = state.tz; // a zone being typed: the API names it in its 400
  const from = field('from');
  const to = field('to');
  if (!to.value) to.value = from.value ? addDays(from.value, 6) : dateIn(lastDataMs ?? Date.now(), tz);
  if (!from.value) from.value = addDays(to.value, -6);
}

/** Whether the net/gross switch is on gross (every counted session) rather than net (people only). */
const isGross = () => $('basis-gross', HTMLInputElement).checked;

/**
 * Sets the net/gross switch and keeps it in the address (`?gross=true`, none for net), so a reload or
 * a shared link shows the same basis.
 * @param {boolean} gross
 */
function setGross(gross) {
  $(gross ? 'basis-gross' : 'basis-net', HTMLInputElement).checked = true;
  const url = new URL(location.href);
  if (gross) url.searchParams.set('gross', 'true');
  else url.searchParams.delete('gross');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

/** @param {Record<string, string>} [extra] */
function currentParams(extra = {}) {
  const p = new URLSearchParams();
  settlePeriod();
  p.set('from', field('from').value);
  // The picker's "to" day is included: the period ends at the next local midnight.
  p.set('to', addDays(field('to').value, 1));
  if (field('tz').value) p.set('tz', field('tz').value);
  const scope = field('scope').value;
  if (scope.startsWith('station:')) p.set('station', scope.slice(8));
  else if (scope.startsWith('stream:')) p.append('stream', scope.slice(7));
  if (isGross()) p.set('gross', 'true');
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p;
}

let refreshes = 0;

async function refresh() {
  const generation = ++refreshes;
  document.body.dataset.ready = 'false';
  status('loading...');
  try {
    const daypart = field('daypart').value;
    const withDaypart = currentParams(daypart ? { daypart } : {});
    state.query = withDaypart.toString();
    const reportParams = new URLSearchParams(withDaypart);
    reportParams.set('parts', 'summary,minutes,quarterHours');
    const trackParams = currentParams();
    const [report, dayparts, breakdowns, tracks] = await Promise.all([
      client.report(reportParams),
      client.dayparts(currentParams()),
      client.breakdowns(withDaypart),
      client.tracks(trackParams),
    ]);
    // A later refresh started while this one ran: its answers are the ones to show.
    if (generation !== refreshes) return;
    state.report = report;
    state.tz = report.config.tz;
    state.dayparts = dayparts;
    state.breakdowns = breakdowns;
    state.tracks = tracks;
    renderReport(report, state.charts);
    renderDayparts(dayparts);
    renderBreakdowns(breakdowns, state.charts);
    renderGroups(breakdowns);
    const csv = new URLSearchParams(withDaypart);
    csv.set('format', 'csv');
    csv.set('part', field('csv-part').value);
    $('csv-link', HTMLAnchorElement).href = `/v1/report?${csv}`;
    renderTracks(tracks, state.live, Date.now());
    tracksQuery = trackParams.toString();
    const playsCsv = new URLSearchParams(trackParams);
    playsCsv.set('format', 'csv');
    playsCsv.set('part', 'plays');
    $('tracks-csv-link', HTMLAnchorElement).href = `/v1/tracks?${playsCsv}`;
    setSoundExchangeLink();
    if (state.live) showLive(state.live);
    status(`updated ${clockIn(Date.now(), state.tz)} ${state.tz}`);
    state.generation = generation;
    document.body.dataset.generation = String(generation);
    document.body.dataset.ready = 'true';
    markDrawn();
  } catch (error) {
    if (generation !== refreshes) return;
    status(messageOf(error), true);
    document.body.dataset.failed = String(generation);
  }
}

/** @param {Event} event */
async function downloadCsv(event) {
  event.preventDefault();
  // The report on the page, not pickers changed since without pressing Show.
  const csv = new URLSearchParams(state.query);
  csv.set('format', 'csv');
  csv.set('part', field('csv-part').value);
  const res = await client.csv(csv);
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

/**
 * A download link of the tracks section: the file its href names, fetched with the token (a plain
 * link could not send it), saved under the name the API gives.
 * @param {Event} event
 */
async function downloadLink(event) {
  event.preventDefault();
  const link = /** @type {HTMLAnchorElement} */ (event.currentTarget);
  const url = new URL(link.href);
  const res = await client.download(url.pathname + url.search);
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    return status(
      `${link.textContent}: ${body?.parameter ? `${body.parameter}: ${body.reason}` : res.status}`,
      true,
    );
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'earshot.txt';
  const blob = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = blob;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(blob), 60_000);
}

let started = false;

/** Fills the pickers from /v1/streams, draws the first report and follows the live feed. */
async function start() {
  $('token-form').hidden = true;
  $('main').hidden = false;
  const meta = await client.streams();
  state.tz = meta.settings.tz;
  field('tz').value = meta.settings.tz;
  const last = meta.streams.map((s) => Date.parse(s.lastMinute));
  lastDataMs = last.length > 0 ? Math.max(...last) : null;
  const zones = $('zones', HTMLDataListElement);
  for (const z of [
    'UTC',
    meta.settings.tz,
    ...meta.stations.map((s) => s.tz),
    'America/New_York',
    'Europe/London',
    'Europe/Berlin',
  ]) {
    if (![...zones.options].some((o) => o.value === z)) zones.append(new Option(z, z));
  }
  const scope = $('scope', HTMLSelectElement);
  const keepScope = scope.value;
  scope.replaceChildren(new Option('All streams', ''));
  for (const s of meta.stations) scope.append(new Option(`Station ${s.name}`, `station:${s.key}`));
  for (const s of meta.streams) scope.append(new Option(s.stream, `stream:${s.stream}`));
  const fillDayparts = () => {
    const station = meta.stations.find((s) => `station:${s.key}` === scope.value);
    const select = $('daypart', HTMLSelectElement);
    const keep = select.value;
    select.replaceChildren(new Option('All hours', ''));
    for (const d of [...(station?.dayparts ?? []), ...meta.dayparts])
      select.append(new Option(`${d.name} (${d.spec})`, d.name));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
    if (station) field('tz').value = station.tz;
  };
  if ([...scope.options].some((o) => o.value === keepScope)) scope.value = keepScope;
  scope.onchange = fillDayparts;
  fillDayparts();
  const url = new URL(location.href);
  if (!started)
    for (const key of ['from', 'to', 'tz', 'daypart']) {
      const preset = url.searchParams.get(key);
      if (preset) field(key).value = preset;
    }
  if (!started) setGross(url.searchParams.get('gross') === 'true');
  started = true;
  // The live feed does not depend on the period: it opens beside the first refresh, not after it.
  client.followLive(showLive);
  await refresh();
}

$('pickers').addEventListener('submit', (e) => {
  e.preventDefault();
  refresh();
});
// The switch redraws at once, with the pickers as they are (as Show would).
for (const id of ['basis-net', 'basis-gross'])
  $(id).addEventListener('change', () => {
    setGross(isGross());
    refresh();
  });
$('csv-link').addEventListener('click', downloadCsv);
$('sx-link').addEventListener('click', downloadLink);
$('tracks-csv-link').addEventListener('click', downloadLink);
$('sx-service').addEventListener('input', setSoundExchangeLink);
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  client.setToken(field('token-input').value.trim());
  start().catch((error) => status(messageOf(error), true));
});

if (client.hasToken()) start().catch((error) => status(messageOf(error), true));
else showTokenForm();
