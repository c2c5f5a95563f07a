import {
  finalizeSessionId,
  type ListenEvent,
  MINUTE_MS,
  QUARTER_HOUR_MS,
  splitSessions,
} from '@earshot/core';
import { audienceOf } from '../finalize/audience.js';
import type { FinalizeSettings } from '../finalize/types.js';
import { QUALIFIER_MINUTES, SESSION_LENGTH_BOUNDS_S } from '../schema.js';
import { emptyTables, sortTables, type Tables } from './tables.js';

/**
 * What the tables must hold for these events, computed offline with @earshot/core alone:
 * `finalizeSessionId` over each session id's events (and `splitSessions` for each session's first
 * `output` and user agent, which the stored row adds). The rollups and listener months are summed
 * straight from their definitions, not with the finalizer's deltas, so the two check each other.
 */
export function expectedTables(events: readonly ListenEvent[], settings: FinalizeSettings): Tables {
  const byId = new Map<string, ListenEvent[]>();
  for (const e of events) {
    const list = byId.get(e.session);
    if (list) list.push(e);
    else byId.set(e.session, [e]);
  }
  const runs = new Map<string, { firstTime: number; output: string; ua: string | null }>();
  for (const run of splitSessions(events, settings)) {
    runs.set(`${run.session.session}\u0000${run.session.start}`, {
      firstTime: run.events[0]!.time,
      output: run.output,
      ua: run.events.find((e) => e.ua)?.ua ?? null,
    });
  }
  const classify = audienceOf(settings);
  const t = emptyTables();
  const minutes = new Map<string, Tables['minutes'][number]>();
  for (const list of byId.values()) {
    const done = finalizeSessionId(list, settings);
    for (const { session: s, minutes: m, quarterHours: q } of done.counted) {
      const keys = [...m.keys()].sort((a, b) => a - b);
      const first = keys[0] ?? Math.floor(s.start / MINUTE_MS) * MINUTE_MS;
      const last = keys[keys.length - 1] ?? first - MINUTE_MS;
      const dense: number[] = [];
      for (let k = first; k <= last; k += MINUTE_MS) dense.push(m.get(k) ?? 0);
      const run = runs.get(`${s.session}\u0000${s.start}`)!;
      const audience = classify({ ua: s.ua, origin: s.origin });
      const human = audience.class === 'human';
      t.sessions.push({
        session: s.session,
        start: s.start,
        firstTime: run.firstTime,
        stream: s.stream,
        output: run.output,
        end: s.end,
        elapsedMs: Math.round(s.elapsed * 1000),
        durationMs: Math.round(s.duration * 1000),
        bytes: s.bytes,
        listener: s.listener,
        ua: run.ua,
        country: s.country,
        class: audience.class,
        device: audience.device,
        os: audience.os,
        player: audience.player,
        firstMinute: first,
        minuteMs: dense,
      });
      let prev: number | null = null;
      for (const quarterHour of [...q.keys()].sort((a, b) => a - b)) {
        const value = q.get(quarterHour)!;
        if (value <= 0) continue;
        t.quarterHours.push({
          session: s.session,
          sessionStart: s.start,
          stream: s.stream,
          quarterHour,
          ms: value,
          listener: s.listener,
          prevQuarterHour: prev,
          continues: prev === quarterHour - QUARTER_HOUR_MS,
          class: audience.class,
        });
        prev = quarterHour;
      }
      for (const [minute, value] of m) {
        if (value <= 0 || !human) continue;
        const key = `${s.stream}\u0000${minute}`;
        const row = minutes.get(key);
        if (row) {
          row.ms += value;
          row.sessions += 1;
        } else minutes.set(key, { stream: s.stream, minute, ms: value, sessions: 1 });
      }
    }
    for (const s of done.short)
      t.shorts.push({
        session: s.session,
        start: s.start,
        firstTime: runs.get(`${s.session}\u0000${s.start}`)!.firstTime,
        end: s.end,
        stream: s.stream,
        durationMs: Math.round(s.duration * 1000),
        class: classify({ ua: s.ua, origin: s.origin }).class,
      });
  }
  t.minutes = [...minutes.values()];
  // The rollup, straight from its definition: sums over the human session rows by (stream, QH).
  const rollup = new Map<string, Tables['rollup'][number]>();
  const at = (stream: string, quarterHour: number) => {
    const key = `${stream}\u0000${quarterHour}`;
    let row = rollup.get(key);
    if (!row) {
      row = {
        stream,
        quarterHour,
        ms: 0,
        sessions: 0,
        continuing: 0,
        starts: 0,
        qualified: new Array(QUALIFIER_MINUTES).fill(0),
        lengths: new Array(SESSION_LENGTH_BOUNDS_S.length + 1).fill(0),
        shortStarts: 0,
      };
      rollup.set(key, row);
    }
    return row;
  };
  const humanQuarterHours = t.quarterHours.filter((r) => r.class === 'human');
  for (const r of humanQuarterHours) {
    const row = at(r.stream, r.quarterHour);
    row.ms += r.ms;
    row.sessions += 1;
    if (r.continues) row.continuing += 1;
    for (let k = 1; k <= QUALIFIER_MINUTES; k++) if (r.ms >= k * MINUTE_MS) row.qualified[k - 1]! += 1;
  }
  for (const s of t.sessions.filter((x) => x.class === 'human')) {
    const row = at(s.stream, Math.floor(s.start / QUARTER_HOUR_MS) * QUARTER_HOUR_MS);
    row.starts += 1;
    // Bin i holds the listening times from the i-th bound on (under the first: bin 0).
    row.lengths[SESSION_LENGTH_BOUNDS_S.filter((b) => s.durationMs >= b * 1000).length]! += 1;
  }
  for (const s of t.shorts.filter((x) => x.class === 'human'))
    at(s.stream, Math.floor(s.start / QUARTER_HOUR_MS) * QUARTER_HOUR_MS).shortStarts += 1;
  t.rollup = [...rollup.values()];
  // Listener months, straight from their definition: the QHs of each cume key's rows by UTC month.
  const months = new Map<string, { stream: string; month: number; key: string; bits: string[] }>();
  for (const r of humanQuarterHours) {
    const d = new Date(r.quarterHour);
    const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    const key = r.listener ?? `session:${r.session}`;
    const id = `${r.stream}\u0000${key}\u0000${month}`;
    let row = months.get(id);
    if (!row) {
      row = {
        stream: r.stream,
        month,
        key,
        bits: new Array<string>((end - month) / QUARTER_HOUR_MS).fill('0'),
      };
      months.set(id, row);
    }
    row.bits[(r.quarterHour - month) / QUARTER_HOUR_MS] = '1';
  }
  t.listenerMonths = [...months.values()].map((m) => ({
    stream: m.stream,
    month: m.month,
    key: m.key,
    qhs: m.bits.join(''),
  }));
  addAudienceRollups(t);
  return sortTables(t);
}

/**
 * The audience rollups of the tables' rows, straight from their definitions: the quarter-hour
 * rollup and the listener months again, split by each human session's audience.
 */
function addAudienceRollups(t: Tables): void {
  const humans = new Map(
    t.sessions.filter((s) => s.class === 'human').map((s) => [`${s.session}\u0000${s.start}`, s]),
  );
  const audienceOf = (s: Tables['sessions'][number]) => ({
    country: s.country ?? 'unknown',
    device: s.device,
    os: s.os,
    player: s.player,
    output: s.output,
  });
  const audienceKey = (a: ReturnType<typeof audienceOf>) =>
    `${a.country}\u0000${a.device}\u0000${a.os}\u0000${a.player}\u0000${a.output}`;
  const rollup = new Map<string, Tables['audienceRollup'][number]>();
  const at = (stream: string, quarterHour: number, s: Tables['sessions'][number]) => {
    const audience = audienceOf(s);
    const key = `${stream}\u0000${quarterHour}\u0000${audienceKey(audience)}`;
    let row = rollup.get(key);
    if (!row) {
      row = {
        stream,
        quarterHour,
        ...audience,
        ms: 0,
        sessions: 0,
        continuing: 0,
        starts: 0,
        qualified: new Array(QUALIFIER_MINUTES).fill(0),
      };
      rollup.set(key, row);
    }
    return row;
  };
  const months = new Map<string, Tables['audienceMonths'][number] & { bits: string[] }>();
  for (const r of t.quarterHours) {
    const s = humans.get(`${r.session}\u0000${r.sessionStart}`);
    if (!s) continue;
    const row = at(r.stream, r.quarterHour, s);
    row.ms += r.ms;
    row.sessions += 1;
    if (r.continues) row.continuing += 1;
    for (let k = 1; k <= QUALIFIER_MINUTES; k++) if (r.ms >= k * MINUTE_MS) row.qualified[k - 1]! += 1;
    const d = new Date(r.quarterHour);
    const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    const key = r.listener ?? `session:${r.session}`;
    const audience = audienceOf(s);
    const id = `${r.stream}\u0000${key}\u0000${month}\u0000${audienceKey(audience)}`;
    let m = months.get(id);
    if (!m) {
      m = {
        stream: r.stream,
        month,
        key,
        ...audience,
        qhs: '',
        bits: new Array<string>((end - month) / QUARTER_HOUR_MS).fill('0'),
      };
      months.set(id, m);
    }
    m.bits[(r.quarterHour - month) / QUARTER_HOUR_MS] = '1';
  }
  for (const s of humans.values())
    at(s.stream, Math.floor(s.start / QUARTER_HOUR_MS) * QUARTER_HOUR_MS, s).starts += 1;
  t.audienceRollup = [...rollup.values()];
  t.audienceMonths = [...months.values()].map(({ bits, ...m }) => ({ ...m, qhs: bits.join('') }));
}
