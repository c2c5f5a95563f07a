import { DEFAULT_DAYPARTS } from '@earshot/core';
import { listStreams } from '@earshot/db';
import { Hono } from 'hono';
import { rejectParameters } from '../params.js';
import type { RouteDeps } from './deps.js';

/** `/streams`: the streams with data, the stations, the default dayparts and the settings in force. */
export function streamRoutes({ db, defaults, stations }: RouteDeps): Hono {
  const routes = new Hono();
  routes.get('/streams', async (c) => {
    rejectParameters(c.req.queries());
    const streams = await listStreams(db);
    return c.json({
      streams: streams.map((s) => ({
        stream: s.stream,
        firstMinute: new Date(s.firstMinuteMs).toISOString(),
        lastMinute: new Date(s.lastMinuteMs).toISOString(),
      })),
      stations: stations.map((s) => ({
        key: s.key,
        name: s.name,
        tz: s.tz,
        streams: s.streams,
        dayparts: s.dayparts.map((d) => ({ name: d.name, spec: d.spec })),
      })),
      dayparts: DEFAULT_DAYPARTS.map((d) => ({ name: d.name, spec: d.spec })),
      settings: {
        tz: defaults.tz,
        idle: defaults.idleS,
        minSession: defaults.minSessionS,
        maxSession: defaults.maxSessionS,
        aqhQualifier: defaults.aqhQualifierS,
      },
    });
  });

  return routes;
}
