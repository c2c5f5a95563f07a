import { createAudienceOf, NO_AGENT_RULES } from '@earshot/audience';
import {
  buildTrackReport,
  SOUNDEXCHANGE_CATEGORIES,
  soundExchangeTsv,
  TRACK_PARTS,
  type TrackPart,
  type TrackReport,
  trackCsv,
} from '@earshot/core';
import {
  type FinalizeSettings,
  readComponentSettings,
  readTracks,
  reportPeriod,
  sessionEvents,
} from '@earshot/db';
import { type Context, Hono } from 'hono';
import { badParameter, checkPeriodLength, parseChoice, parsePeriodQuery } from '../params.js';
import type { RouteDeps } from './deps.js';

/**
 * `/tracks` (JSON, CSV) and `/soundexchange` (TSV): the track figures of DESIGN section 9 from the
 * stored track events and the raw events of the stored sessions, computed by core's
 * `buildTrackReport`, so they equal the offline `earshot report --tracks` on the same events. Raw
 * events are kept for the retention's days: a period older than that has no listeners left to
 * count (file the monthly SoundExchange report before retention drops the month).
 */
export function trackRoutes({ db, defaults, stations }: RouteDeps): Hono {
  const routes = new Hono();
  const trackReport = async (c: Context, extra: readonly string[]): Promise<TrackReport> => {
    const parsed = parsePeriodQuery(c.req.queries(), defaults, stations, [...extra, 'performanceMin']);
    const { groupAs: _groupAs, by: _by, ...opts } = parsed.options;
    const settled =
      opts.from !== undefined && opts.to !== undefined
        ? { from: opts.from, to: opts.to }
        : await reportPeriod(db, opts);
    checkPeriodLength(settled, opts);
    const text = c.req.query('performanceMin');
    const performanceMinS = text === undefined ? 0 : Number(text);
    if (!(performanceMinS >= 0 && performanceMinS <= 86_400) || text?.trim() === '')
      throw badParameter('performanceMin', 'must be a number of seconds between 0 and 86400');
    const streams = opts.streams ?? null;
    // Classified by the rules the worker recorded, as the stored sessions were.
    const finalize = await readComponentSettings<FinalizeSettings>(db, 'finalize');
    const [events, tracks] = await Promise.all([
      sessionEvents(db, { ...settled, streams }),
      readTracks(db, { ...settled, streams: streams ?? undefined }),
    ]);
    return buildTrackReport(events, tracks, {
      ...opts,
      ...settled,
      performanceMinS,
      audience: createAudienceOf(finalize?.settings.agents ?? NO_AGENT_RULES),
    });
  };

  routes.get('/tracks', async (c) => {
    const format = parseChoice(c.req.queries(), 'format', ['json', 'csv'] as const) ?? 'json';
    const part = parseChoice<TrackPart>(c.req.queries(), 'part', TRACK_PARTS);
    if (part && format !== 'csv') throw badParameter('part', 'part is for CSV (format=csv)');
    const report = await trackReport(c, ['format', 'part']);
    if (format === 'csv') {
      const which = part ?? 'plays';
      return c.body(trackCsv(report, which), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="earshot-tracks-${which}-${report.config.from.slice(0, 10)}_${report.config.to.slice(0, 10)}.csv"`,
      });
    }
    return c.json(report);
  });

  routes.get('/soundexchange', async (c) => {
    const q = c.req.queries();
    const service = q.service?.[0]?.trim();
    if (!service) throw badParameter('service', 'is required: the name of the service (call letters)');
    const category = parseChoice(q, 'category', SOUNDEXCHANGE_CATEGORIES) ?? 'A';
    if (!q.from || !q.to)
      throw badParameter(q.from ? 'to' : 'from', 'a report of use covers a period: give from and to');
    const report = await trackReport(c, ['service', 'category']);
    const name = `${service.replace(/[^A-Za-z0-9]+/g, '')}${report.config.from.slice(0, 10).replaceAll('-', '')}_${report.config.to.slice(0, 10).replaceAll('-', '')}_${category}.txt`;
    return c.body(soundExchangeTsv(report.songs, { service, category }), 200, {
      'content-type': 'text/tab-separated-values; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
    });
  });
  return routes;
}
