import { localTime, type TrackReport } from '@earshot/core';
import { formatNumber, renderColumns } from './format-table.js';
import { terminalSafe } from './terminal-text.js';

/** Songs and plays the table shows at most. */
export const TRACKS_SHOWN = 10;

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local `YYYY-MM-DD HH:MM` of an ISO instant. */
function localStamp(iso: string, tz: string): string {
  const t = localTime(Date.parse(iso), tz);
  const clock = `${pad2(Math.floor(t.minuteOfDay / 60))}:${pad2(t.minuteOfDay % 60)}`;
  return `${t.year}-${pad2(t.month)}-${pad2(t.day)} ${clock}`;
}

function songName(artist: string, title: string): string {
  return artist === '' ? title : `${artist} - ${title}`;
}

const index = (value: number | null) => (value === null ? '-' : formatNumber(value, 2));

/**
 * The table's "Tracks" section (DESIGN section 9): the top songs by performances, the last plays
 * with their audience, and ATH per stream and month.
 */
export function formatTracks(tracks: TrackReport): string {
  const { tz, basis } = tracks.config;
  const out: string[] = [];
  const min = tracks.config.performanceMin;
  out.push(
    `Tracks    ${formatNumber(tracks.plays.length)} plays, ${formatNumber(tracks.songs.length)} songs (${tracks.config.kinds.join(', ')}); ` +
      `a performance: ${min > 0 ? `${min} s or more` : 'any listening'} inside a play (${basis}, short sessions included)`,
  );
  if (tracks.songs.length > 0) {
    out.push('', `Top songs by performances`);
    out.push(
      renderColumns(
        ['song', 'plays', 'performances', 'TLH', 'tune-outs', 'tune-out index'],
        tracks.songs
          .slice(0, TRACKS_SHOWN)
          .map((s) => [
            songName(s.artist, s.title),
            formatNumber(s.plays),
            formatNumber(s.performances),
            formatNumber(s.tlh, 2),
            formatNumber(s.tuneOuts),
            index(s.tuneOutIndex),
          ]),
      ),
    );
  }
  if (tracks.plays.length > 0) {
    const last = [...tracks.plays]
      .sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : 0))
      .slice(0, TRACKS_SHOWN);
    out.push('', `Last plays (local time, ${tz})`);
    out.push(
      renderColumns(
        ['start', 'stream', 'track', 'at start', 'performances', 'TLH', 'tune-outs', 'index'],
        last.map((p) => [
          localStamp(p.start, tz),
          p.stream,
          songName(p.artist, p.title),
          formatNumber(p.listenersAtStart),
          formatNumber(p.performances),
          formatNumber(p.tlh, 2),
          formatNumber(p.tuneOuts),
          index(p.tuneOutIndex),
        ]),
        3,
      ),
    );
  }
  if (tracks.ath.length > 0) {
    out.push('', 'ATH (aggregate tuning hours) by stream and month');
    out.push(
      renderColumns(
        ['stream', 'month', 'ATH'],
        tracks.ath.map((a) => [a.stream, a.month, formatNumber(a.ath, 1)]),
        2,
      ),
    );
  }
  return `${terminalSafe(out.join('\n'), { keepNewlines: true })}\n`;
}
