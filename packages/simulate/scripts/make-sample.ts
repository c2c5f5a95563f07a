// Regenerates samples/station.ndjson.gz: a small station's morning, 05:00-10:00 in New York on a
// Tuesday (the ramp into AM drive), both outputs, with the listeners' user agents (3 % of the
// sessions bots) and IP addresses (so that the offline report finds their countries). Same seed, same file: run `pnpm --filter
// @earshot/simulate sample` after changing the generator and commit the result.
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { generateStation, generateTracks, toNdjson } from '../src/index.js';

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../../../samples/station.ndjson.gz');
const events = generateStation({
  seed: 'earshot-sample-1',
  start: '2026-11-03T05:00:00-05:00',
  hours: 5,
  listeners: 100,
  tz: 'America/New_York',
  userAgents: true,
  ips: true,
});
const text = toNdjson(events);
// Level 9 and gzip's fixed header (no name, mtime 0) keep the file byte-identical across runs.
const gz = gzipSync(text, { level: 9 });
writeFileSync(out, gz);
// The station's programme over the same hours (track events, DESIGN 9), uncompressed: small.
const tracksOut = resolve(dirname(out), 'station-tracks.ndjson');
const tracks = generateTracks({ seed: 'earshot-sample-1', start: '2026-11-03T05:00:00-05:00', hours: 5 });
writeFileSync(tracksOut, `${tracks.map((t) => JSON.stringify({ ...t, time: new Date(t.time).toISOString() })).join('\n')}\n`);
console.log(`${tracksOut}: ${tracks.length} track events`);
console.log(
  `${out}: ${events.length} events, ${(text.length / 1e6).toFixed(1)} MB NDJSON, ${(gz.length / 1e6).toFixed(2)} MB gzip`,
);
