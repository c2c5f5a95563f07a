import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createAudienceOf, createEnricher, openGeoDatabase } from '@earshot/audience';
import { buildReport, DEFAULT_DAYPARTS, type ListenEvent, parseReportTime, type Report } from '@earshot/core';
import { generateStation, shuffled, toNdjson, withDuplicates } from '@earshot/simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing.js';

const run = runCli;

const TZ = 'America/New_York';
let dir: string;
let events: ListenEvent[];
let plain: string;
let gzipped: string;

const hand = (over: Partial<ListenEvent>): ListenEvent => ({
  session: 's1',
  stream: 'main-mp3',
  output: 'shoutcast',
  time: Date.parse('2026-11-03T12:00:30Z'),
  duration: 30,
  bytes: 480_000,
  ...over,
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-cli-'));
  events = generateStation({ seed: 11, start: '2026-11-03T06:00:00-05:00', hours: 2, listeners: 30, tz: TZ });
  plain = join(dir, 'events.ndjson');
  gzipped = join(dir, 'events.ndjson.gz');
  writeFileSync(plain, toNdjson(events));
  writeFileSync(gzipped, gzipSync(toNdjson(events)));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('earshot report --format json', () => {
  it('equals core buildReport on the same events', async () => {
    const result = await run(['report', '--events', plain, '--format', 'json', '--tz', TZ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report).toEqual(buildReport(events, { tz: TZ }));
    expect(report.summary.map((s) => s.stream)).toEqual(['main', 'main-mp3']);
    // 2-space indented JSON.stringify of the report.
    expect(result.stdout).toBe(`${JSON.stringify(report, null, 2)}\n`);
  });

  it('applies period, zone, daypart, streams and settings like core does', async () => {
    const result = await run([
      'report',
      '--events',
      plain,
      '--format=json',
      '--tz',
      TZ,
      '--from',
      '2026-11-03T06:30',
      '--to',
      '2026-11-03T08:00',
      '--daypart',
      'AM drive',
      '--stream',
      'main',
      '--stream',
      'main-mp3',
      '--idle',
      '240',
      '--min-session',
      '90',
      '--aqh-qualifier',
      '180',
      '--max-session',
      '7200',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    const from = parseReportTime('2026-11-03T06:30', TZ);
    const to = parseReportTime('2026-11-03T08:00', TZ);
    expect(from.ok && to.ok).toBe(true);
    const expected = buildReport(events, {
      tz: TZ,
      from: from.ok ? from.ms : 0,
      to: to.ok ? to.ms : 0,
      daypart: DEFAULT_DAYPARTS.find((d) => d.name === 'AM drive')!,
      streams: ['main', 'main-mp3'],
      idleS: 240,
      minSessionS: 90,
      aqhQualifierS: 180,
      maxSessionS: 7200,
    });
    expect(report).toEqual(expected);
    expect(report.config).toMatchObject({
      from: '2026-11-03T11:30:00.000Z',
      to: '2026-11-03T13:00:00.000Z',
      tz: TZ,
      daypart: 'Mon-Fri 06:00-10:00',
      idle: 240,
      minSession: 90,
      aqhQualifier: 180,
      maxSession: 7200,
    });
  });

  it('takes the zone and settings from the environment when no option is given', async () => {
    const env = {
      EARSHOT_TZ: TZ,
      EARSHOT_IDLE_S: '200',
      EARSHOT_MIN_SESSION_S: '30',
      EARSHOT_AQH_QUALIFIER_S: '240',
      EARSHOT_MAX_SESSION_S: '',
    };
    const result = await run(
      ['report', '--events', plain, '--format', 'json', '--from', '2026-11-03T07:00'],
      { env },
    );
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.config).toMatchObject({
      tz: TZ,
      from: '2026-11-03T12:00:00.000Z',
      idle: 200,
      minSession: 30,
      aqhQualifier: 240,
      maxSession: 86_400,
    });
    // An option beats the environment.
    const override = await run(
      ['report', '--events', plain, '--format', 'json', '--idle', '100', '--tz', 'UTC'],
      { env },
    );
    expect(JSON.parse(override.stdout).config).toMatchObject({ tz: 'UTC', idle: 100 });
  });

  it('accepts an AQH qualifier of 0 (any listening qualifies), as the reports API does', async () => {
    const result = await run(['report', '--events', plain, '--format', 'json', '--aqh-qualifier', '0']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.config.aqhQualifier).toBe(0);
    expect(report).toEqual(buildReport(events, { aqhQualifierS: 0 }));
    // Every QH with listening has a qualified session at 0 s.
    expect(report.quarterHours.every((q) => q.qualified > 0)).toBe(true);
  });

  it('lets --aqh-qualifier override a bad EARSHOT_AQH_QUALIFIER_S', async () => {
    const result = await run(['report', '--events', plain, '--format', 'json', '--aqh-qualifier', '180'], {
      env: { EARSHOT_AQH_QUALIFIER_S: '1000' },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as Report).config.aqhQualifier).toBe(180);
  });

  it('gives the same report read by several threads, each a byte range of the file', async () => {
    const one = await run(['report', '--events', plain, '--format', 'json', '--threads', '1']);
    for (const threads of ['2', '3']) {
      const several = await run(['report', '--events', plain, '--format', 'json', '--threads', threads]);
      expect(several.stderr).toBe('');
      expect(several.stdout).toBe(one.stdout);
    }
  });

  it('finalizes a session id read by several threads once, with all its events', async () => {
    const tricky = [
      '{"session":"a\\u0062","stream":"x","output":"shoutcast","time":1793700030000,"duration":30,"bytes":1}',
      '{"session":"ab","stream":"x","output":"shoutcast","time":1793700060000,"duration":30,"bytes":1}',
      '{"session":"zz","stream":"x","output":"shoutcast","session":"ab","time":1793700090000,"duration":30,"bytes":1}',
      '{"stream":"x","session" : "ab","output":"shoutcast","time":1793700120000,"duration":30,"bytes":1}',
    ].join('\n');
    const path = file('tricky.ndjson', tricky);
    const one = await run(['report', '--events', path, '--format', 'json', '--threads', '1']);
    const report = JSON.parse(one.stdout) as Report;
    expect(report.sessions).toHaveLength(1);
    expect(report.sessions[0]).toMatchObject({ session: 'ab', duration: 120 });
    for (const threads of ['2', '3', '4']) {
      const several = await run(['report', '--events', path, '--format', 'json', '--threads', threads]);
      expect(several.stdout).toBe(one.stdout);
    }
  });

  it('gives the same report from a shuffled file with duplicates read by several threads', async () => {
    const messy = file(
      'shuffled.ndjson',
      toNdjson(shuffled(withDuplicates(events, { seed: 1, rate: 0.05 }), 2)),
    );
    const expected = buildReport(events, { tz: TZ });
    for (const threads of ['1', '3']) {
      const result = await run([
        'report',
        '--events',
        messy,
        '--format',
        'json',
        '--tz',
        TZ,
        '--threads',
        threads,
      ]);
      expect(JSON.parse(result.stdout)).toEqual(expected);
    }
  });

  it('numbers lines across the whole file when several threads read', async () => {
    const lines = events.map((e) => JSON.stringify(e));
    const badAt = [lines.length - 10, Math.floor(lines.length / 2) + 3, 5];
    for (const at of badAt) lines[at - 1] = JSON.stringify({ ...events[at - 1], bytes: -1 });
    const path = file('bad-late.ndjson', `${lines.join('\n')}\n`);
    const failed = await run(['report', '--events', path, '--threads', '3']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      new RegExp(`^${path.replaceAll('.', '\\.')}:5: bytes: must be an integer >= 0`),
    );
    const skipped = await run([
      'report',
      '--events',
      path,
      '--threads',
      '3',
      '--skip-invalid',
      '--format',
      'json',
    ]);
    expect(skipped.code).toBe(0);
    expect(skipped.stderr.trim().split('\n')).toEqual([
      ...badAt
        .slice()
        .sort((a, b) => a - b)
        .map((at) => `${path}:${at}: bytes: must be an integer >= 0`),
      `${path}: skipped 3 invalid lines`,
    ]);
    const valid = events.filter((_, i) => !badAt.includes(i + 1));
    expect(JSON.parse(skipped.stdout)).toEqual(buildReport(valid));
  });

  it('reads gzip files and stdin', async () => {
    const fromPlain = await run(['report', '--events', plain, '--format', 'json']);
    const fromGzip = await run(['report', '--events', gzipped, '--format', 'json']);
    expect(fromGzip.code).toBe(0);
    expect(fromGzip.stdout).toBe(fromPlain.stdout);
    const fromStdin = await run(['report', '--events', '-', '--format', 'json'], { input: toNdjson(events) });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toBe(fromPlain.stdout);
    const gzipStdin = await run(['report', '--events', '-', '--format', 'json'], {
      input: gzipSync(toNdjson(events)),
    });
    expect(gzipStdin.stdout).toBe(fromPlain.stdout);
  });

  it('ignores blank lines, CRLF line ends and a byte-order mark', async () => {
    const lines = events.slice(0, 400).map((e) => JSON.stringify(e));
    const messy = file(
      'messy.ndjson',
      `\uFEFF${lines.slice(0, 200).join('\r\n')}\r\n\n   \n${lines.slice(200).join('\n')}`,
    );
    const result = await run(['report', '--events', messy, '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(buildReport(events.slice(0, 400)));
  });
});

describe('earshot report with malformed lines', () => {
  const good = [
    hand({}),
    hand({ time: Date.parse('2026-11-03T12:01:00Z') }),
    hand({ time: Date.parse('2026-11-03T12:01:30Z') }),
  ];
  const text = () =>
    [
      JSON.stringify(good[0]),
      JSON.stringify(good[1]),
      '',
      JSON.stringify({ ...good[2], duration: -5 }),
      '{"session": "s1", "stream": ',
      JSON.stringify(good[2]),
      JSON.stringify({ ...good[2], output: 'icecast', colour: 'red' }),
    ].join('\n');

  it('fails with exit 1 naming the file, line, field and reason', async () => {
    const path = file('bad.ndjson', text());
    const result = await run(['report', '--events', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(`^${path.replaceAll('.', '\\.')}:4: duration: must be between 0 and 86400 seconds`),
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reports the earliest bad line when several threads read', async () => {
    const path = file('bad-threads.ndjson', text());
    for (const threads of ['2', '3']) {
      const result = await run(['report', '--events', path, '--threads', threads]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^${path.replaceAll('.', '\\.')}:4: duration: `));
    }
  });

  it.each(['1', '3'])(
    'with --skip-invalid (%s threads), reports and counts the bad lines and goes on',
    async (threads) => {
      const path = file('bad-skip.ndjson', text());
      const result = await run([
        'report',
        '--events',
        path,
        '--skip-invalid',
        '--format',
        'json',
        '--threads',
        threads,
      ]);
      expect(result.code).toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines[0]).toBe(`${path}:4: duration: must be between 0 and 86400 seconds`);
      expect(lines[1]).toMatch(new RegExp(`^${path.replaceAll('.', '\\.')}:5: json: `));
      expect(lines[2]).toBe(
        `${path}:7: colour: is not a listen-event field; output: must be "shoutcast" or "hls"`,
      );
      expect(lines[3]).toBe(`${path}: skipped 3 invalid lines`);
      expect(JSON.parse(result.stdout)).toEqual(buildReport(good));
    },
  );

  it('refuses a file that is not gzip inside', async () => {
    const path = file('broken.ndjson.gz', '\u001f\u008bnot really gzip');
    const broken = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]);
    writeFileSync(path, broken);
    const result = await run(['report', '--events', path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(path);
  });
});

describe('earshot report --format csv', () => {
  it('prints the summary by default and any part on request, RFC 4180 quoted', async () => {
    const summary = await run(['report', '--events', plain, '--format', 'csv']);
    expect(summary.code).toBe(0);
    const rows = summary.stdout.trimEnd().split('\n');
    expect(rows[0]).toBe(
      'stream,quarterHours,aqh,aas,tlh,cume,activeSessions,sessionStarts,atsl,tsl,tslNielsen,excludedBot,excludedRelay,excludedMonitor,leftRunning',
    );
    const report = buildReport(events);
    expect(rows).toHaveLength(1 + report.summary.length);
    expect(rows[1]!.split(',').map(Number)[2]).toBe(report.summary[0]!.aqh);

    const sessions = await run(['report', '--events', plain, '--format', 'csv', '--part', 'sessions']);
    expect(sessions.stdout.trimEnd().split('\n')).toHaveLength(1 + report.sessions.length);
    const minutes = await run(['report', '--events', plain, '--format', 'csv', '--part', 'minutes']);
    expect(minutes.stdout.split('\n')[0]).toBe('stream,minute,listeners,sessions');
    const qhs = await run(['report', '--events', plain, '--format', 'csv', '--part', 'quarterHours']);
    expect(qhs.stdout.split('\n')[0]).toBe('stream,start,qualified,seconds');

    const odd = file(
      'odd.ndjson',
      [
        hand({ session: 'a,"b"', time: Date.parse('2026-11-03T12:00:30Z') }),
        hand({ session: 'a,"b"', time: Date.parse('2026-11-03T12:01:00Z') }),
        hand({ session: 'a,"b"', time: Date.parse('2026-11-03T12:01:30Z') }),
      ]
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
    const quoted = await run(['report', '--events', odd, '--format', 'csv', '--part', 'sessions']);
    expect(quoted.stdout.split('\n')[1]).toBe(
      '"a,""b""",main-mp3,2026-11-03T12:00:00.000Z,2026-11-03T12:01:30.000Z,90,90,1440000,,shoutcast,human,,unknown,unknown,unknown',
    );
  });
});

describe('earshot report --format table', () => {
  it('prints config, a summary per stream, listeners per hour and session counts', async () => {
    const result = await run(['report', '--events', plain, '--tz', TZ]);
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain(
      `Period    2026-11-03 06:00 .. 08:00 ${TZ} (2026-11-03T11:00:00.000Z .. 2026-11-03T13:00:00.000Z)`,
    );
    expect(out).toContain('Daypart   none (whole period)');
    expect(out).toContain('Settings  idle 300 s, min session 60 s, AQH qualifier 300 s, max session 86400 s');
    expect(out).toMatch(
      /stream\s+QHs\s+AQH\s+cume\s+TLH\s+AAS\s+ATSL\s+TSL h\s+Nielsen TSL h\s+active\s+starts/,
    );
    const report = buildReport(events, { tz: TZ });
    const main = report.summary.find((s) => s.stream === 'main')!;
    const line = out.split('\n').find((l) => l.startsWith('main '))!;
    expect(line.split(/\s+/).slice(1, 4)).toEqual(['8', main.aqh.toFixed(1), String(main.cume)]);
    expect(line).toMatch(/ \d:\d\d:\d\d /);
    expect(out).toMatch(
      /Listeners per hour \(average \/ peak minute, America\/New_York\)\nhour\s+main\s+main-mp3\s+all streams\n06:00 /,
    );
    expect(out).toMatch(/\n07:00 +[\d.]+ \/ [\d.]+/);
    expect(out).toContain(`Sessions  ${report.sessions.length} counted, starting in the period`);
    expect(out).toMatch(/tune-outs under 60 s, not counted/);
    expect(out).toContain(`Events    ${events.length.toLocaleString('en-US')} read`);
  });

  it('names the daypart and says so when there is no listening', async () => {
    const result = await run(['report', '--events', plain, '--tz', TZ, '--daypart', 'Sat-Sun 06:00-10:00']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Daypart   Sat-Sun 06:00-10:00');
    expect(result.stdout).toContain('No counted listening in this period.');
    const named = await run(['report', '--events', plain, '--tz', TZ, '--daypart', 'am drive']);
    expect(named.stdout).toContain('Daypart   AM drive (Mon-Fri 06:00-10:00)');
    // The session list does not apply the daypart, and the table says so.
    const report = buildReport(events, {
      tz: TZ,
      daypart: DEFAULT_DAYPARTS.find((d) => d.name === 'AM drive')!,
    });
    expect(named.stdout).toContain(
      `Sessions  ${report.sessions.length} counted, starting in the period, in or out of the daypart`,
    );
  });
});

describe('earshot command line errors', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      'a bad --tz',
      ['--tz', 'Mars/Olympus'],
      {},
      /^earshot report: --tz: "Mars\/Olympus" is not an IANA time zone/,
    ],
    [
      'a bad --daypart',
      ['--daypart', 'Weekdays 6-10'],
      {},
      /^earshot report: --daypart: .*known dayparts: "Mon-Sun 6a-12m"/,
    ],
    [
      'a daypart across midnight',
      ['--daypart', 'Mon-Fri 22:00-02:00'],
      {},
      /^earshot report: --daypart: .*two dayparts/,
    ],
    ['a bad --from', ['--from', 'yesterday'], {}, /^earshot report: --from: "yesterday" is not ISO-8601/],
    [
      '--to before --from',
      ['--from', '2026-11-03T08:00', '--to', '2026-11-03T07:00'],
      {},
      /^earshot report: --to: must be after --from/,
    ],
    ['a bad --idle', ['--idle', 'five'], {}, /^earshot report: --idle: "five" is not a number of seconds/],
    [
      'a zero --max-session',
      ['--max-session', '0'],
      {},
      /^earshot report: --max-session: must be more than 0/,
    ],
    [
      'a negative --min-session',
      ['--min-session', '-1'],
      {},
      /^earshot report: --min-session: must be 0 seconds or more/,
    ],
    [
      'an AQH qualifier over a quarter-hour',
      ['--aqh-qualifier', '901'],
      {},
      /^earshot report: --aqh-qualifier: a quarter-hour has 900 seconds/,
    ],
    [
      'a negative --aqh-qualifier',
      ['--aqh-qualifier', '-1'],
      {},
      /^earshot report: --aqh-qualifier: must be 0 seconds or more/,
    ],
    [
      'an EARSHOT_AQH_QUALIFIER_S over a quarter-hour (naming the variable, not the option)',
      [],
      { EARSHOT_AQH_QUALIFIER_S: '1000' },
      /^earshot report: bad environment: EARSHOT_AQH_QUALIFIER_S="1000" must be at most 900 \(a quarter-hour has 900 seconds\)$/m,
    ],
    [
      'a bad --format',
      ['--format', 'xml'],
      {},
      /^earshot report: --format: "xml" is not one of table, json, csv/,
    ],
    [
      '--part without csv',
      ['--part', 'sessions'],
      {},
      /^earshot report: --part: only applies to --format csv/,
    ],
    [
      'a bad --part',
      ['--format', 'csv', '--part', 'days'],
      {},
      /^earshot report: --part: "days" is not one of sessions, minutes, quarterHours, summary/,
    ],
    ['an unknown option', ['--colour'], {}, /^earshot report: unknown option --colour/],
    ['an option without its value', ['--tz'], {}, /^earshot report: --tz: needs a value/],
    [
      'a bad EARSHOT_TZ',
      [],
      { EARSHOT_TZ: 'Nowhere' },
      /^earshot report: bad environment: EARSHOT_TZ="Nowhere" is not an IANA time zone/,
    ],
    [
      'a bad EARSHOT_IDLE_S',
      [],
      { EARSHOT_IDLE_S: '-3' },
      /^earshot report: bad environment: EARSHOT_IDLE_S="-3" must be > 0/,
    ],
  ];
  for (const [what, args, env, message] of cases) {
    it(`exits 2 on ${what}, naming it`, async () => {
      const result = await run(['report', '--events', plain, ...args], { env });
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.code).toBe(2);
    });
  }

  it('exits 2 without --events when there is no database to read', async () => {
    const result = await run(['report', '--tz', 'UTC'], {
      env: { DATABASE_URL: '', EARSHOT_DATA_DIR: join(dir, 'no-database-here') },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^earshot report: no database: set DATABASE_URL, or EARSHOT_DATA_DIR/);
  });

  it('exits 2 on a missing file, naming --events', async () => {
    const result = await run(['report', '--events', join(dir, 'nope.ndjson')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^earshot report: --events: cannot read .*nope\.ndjson \(ENOENT\)/);
  });

  it('exits 2 on an unknown command and prints help on --help', async () => {
    const unknown = await run(['repot']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "repot"/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: earshot <command>');
    const reportHelp = await run(['report', '--help']);
    expect(reportHelp.code).toBe(0);
    expect(reportHelp.stdout).toContain('Usage: earshot report [--events FILE.ndjson]');
    expect(reportHelp.stdout).toContain('--aqh-qualifier S');
    expect(reportHelp.stdout).toMatch(
      /session list .* holds the counted sessions that start in\s+\[--from, --to\), whatever --daypart/,
    );
  });
});

describe('earshot report: net and gross, breakdowns', () => {
  let withClients: ListenEvent[];
  let path: string;
  beforeAll(() => {
    withClients = generateStation({
      seed: 12,
      start: '2026-11-03T06:00:00-05:00',
      hours: 2,
      listeners: 30,
      tz: TZ,
      userAgents: true,
      botShare: 0.2,
      ips: true,
    });
    path = file('clients.ndjson', toNdjson(withClients));
  });
  /** The events as ingest stores them: country and origin from the ip, the ip dropped. */
  const enriched = (ranges: { relay: string[]; monitor: string[] }) => {
    const enrich = createEnricher({ geo: openGeoDatabase(), ranges });
    return withClients.map((e) => {
      const copy = { ...e };
      enrich(copy);
      delete copy.ip;
      return copy;
    });
  };

  it('is net by default and gross with --gross, by isbot and the given agents and ranges, as core computes', async () => {
    const ranges = { relay: ['8.8.0.0/16'], monitor: [] };
    const agents = { botAgents: ['Winamp'], relayAgents: [], monitorAgents: [] };
    const args = ['report', '--events', path, '--format', 'json', '--tz', TZ, '--relay-ips', '8.8.0.0/16'];
    const net = await run([...args, '--bot-agents', 'Winamp', '--by', 'country']);
    expect(net.stderr).toBe('');
    const netReport = JSON.parse(net.stdout) as Report;
    const audience = createAudienceOf(agents);
    expect(netReport).toEqual(buildReport(enriched(ranges), { tz: TZ, audience, by: 'country' }));
    expect(netReport.config).toMatchObject({ basis: 'net', by: 'country' });
    const excluded = netReport.summary.reduce((n, s) => n + s.excludedBot + s.excludedRelay, 0);
    expect(excluded).toBeGreaterThan(0);
    const gross = JSON.parse((await run([...args, '--bot-agents', 'Winamp', '--gross'])).stdout) as Report;
    expect(gross).toEqual(buildReport(enriched(ranges), { tz: TZ, audience, basis: 'gross' }));
    const active = (r: Report) => r.summary.reduce((n, s) => n + s.activeSessions, 0);
    expect(active(gross) - active(netReport)).toBe(excluded);
    // Without the station's pattern Winamp is a player, not a bot: fewer sessions left out.
    const plainNet = JSON.parse((await run(args)).stdout) as Report;
    expect(plainNet.summary.reduce((n, s) => n + s.excludedBot, 0)).toBeLessThan(
      netReport.summary.reduce((n, s) => n + s.excludedBot, 0),
    );
  });

  it('prints the breakdown as a table and as CSV', async () => {
    const table = await run(['report', '--events', path, '--tz', TZ, '--by', 'player']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Counting  net: human sessions only');
    expect(table.stdout).toMatch(/Left out {2}\d+ bot, 0 relay and 0 monitoring sessions/);
    expect(table.stdout).toContain('By player (all selected streams together)');
    expect(table.stdout).toMatch(/\nVLC +\d+/);
    const csv = await run(['report', '--events', path, '--format', 'csv', '--by', 'device']);
    expect(csv.stdout.split('\n')[0]).toBe(
      'group,quarterHours,aqh,aas,tlh,cume,activeSessions,sessionStarts,atsl,tsl,tslNielsen,excludedBot,excludedRelay,excludedMonitor,leftRunning',
    );
  });

  it('refuses bad rules and a breakdown part without --by, naming the option (exit 2)', async () => {
    const badRange = await run(['report', '--events', path, '--relay-ips', '10.0.0.0/99']);
    expect(badRange.code).toBe(2);
    expect(badRange.stderr).toContain('--relay-ips');
    const badRegex = await run(['report', '--events', path, '--bot-agents', '/(/']);
    expect(badRegex.code).toBe(2);
    expect(badRegex.stderr).toContain('--bot-agents');
    const part = await run(['report', '--events', path, '--format', 'csv', '--part', 'breakdown']);
    expect(part.code).toBe(2);
    expect(part.stderr).toContain('--by');
    const by = await run(['report', '--events', path, '--by', 'planet']);
    expect(by.code).toBe(2);
    expect(by.stderr).toContain('--by: "planet" is not one of country, device, os, player, output, class');
  });
});
