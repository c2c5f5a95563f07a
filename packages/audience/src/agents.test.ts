import { isbot } from 'isbot';
import { describe, expect, it } from 'vitest';
import { AUDIENCE_CACHE_SIZE, createAudienceOf, parseAgentPatterns } from './agents.js';

const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

const noRules = { botAgents: [], relayAgents: [], monitorAgents: [] };

describe('parseAgentPatterns', () => {
  it('splits a comma-separated list, trimming entries and dropping blanks', () => {
    expect(parseAgentPatterns(' StreamMonitor , ,Icecast 2.4,/^Lavf\\/58\\./ ')).toEqual([
      'StreamMonitor',
      'Icecast 2.4',
      '/^Lavf\\/58\\./',
    ]);
    expect(parseAgentPatterns(undefined)).toEqual([]);
    expect(parseAgentPatterns('  ')).toEqual([]);
  });

  it('keeps a comma inside a /regex/', () => {
    expect(parseAgentPatterns('/^Probe\\/\\d{1,2}\\b/, Other')).toEqual(['/^Probe\\/\\d{1,2}\\b/', 'Other']);
    expect(parseAgentPatterns('/a,b/')).toEqual(['/a,b/']);
  });

  it('throws on an invalid regular expression, naming it', () => {
    expect(() => parseAgentPatterns('Fine, /([a-z]/')).toThrow(/Invalid user-agent pattern "\/\(\[a-z\]\/"/);
    expect(() => parseAgentPatterns('//', 'EARSHOT_BOT_AGENTS')).toThrow(
      'Invalid user-agent pattern "//" in EARSHOT_BOT_AGENTS: the regular expression is empty',
    );
  });
});

describe('createAudienceOf', () => {
  it("takes isbot's word for crawlers and command-line clients", () => {
    const audienceOf = createAudienceOf(noRules);
    expect(audienceOf({ ua: GOOGLEBOT, origin: null })).toEqual({
      class: 'bot',
      device: 'server',
      os: 'unknown',
      player: 'Googlebot',
    });
    // isbot lists curl, wget and python-requests.
    expect(isbot('curl/8.5.0')).toBe(true);
    expect(audienceOf({ ua: 'curl/8.5.0', origin: null })).toMatchObject({ class: 'bot', player: 'curl' });
    expect(audienceOf({ ua: 'Wget/1.21.4', origin: null }).class).toBe('bot');
    expect(audienceOf({ ua: 'python-requests/2.31.0', origin: null }).class).toBe('bot');
    expect(
      audienceOf({
        ua: 'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)',
        origin: null,
      }).class,
    ).toBe('bot');
    expect(audienceOf({ ua: CHROME_WINDOWS, origin: null })).toEqual({
      class: 'human',
      device: 'desktop',
      os: 'Windows',
      player: 'Chrome',
    });
  });

  it('counts known media players as people although isbot takes their bare product token for a script', () => {
    const audienceOf = createAudienceOf(noRules);
    for (const ua of [
      'mpv 0.35.1',
      'Lavf/59.27.100',
      'ExoPlayerLib/2.19.1',
      'NSPlayer/12.00.19041.1',
      'Winamp',
      'iTunes/12.12.4',
    ]) {
      expect(isbot(ua), ua).toBe(true);
      expect(audienceOf({ ua, origin: null }).class, ua).toBe('human');
    }
    expect(audienceOf({ ua: 'VLC/3.0.18 LibVLC/3.0.18', origin: null })).toMatchObject({
      class: 'human',
      player: 'VLC',
    });
  });

  it("applies the station's patterns, substrings and /regex/, case-insensitively", () => {
    const audienceOf = createAudienceOf({
      botAgents: parseAgentPatterns('StreamRecorder, /^Lavf\\/58\\./'),
      relayAgents: parseAgentPatterns('icecast'),
      monitorAgents: parseAgentPatterns('/^(nagios|zabbix)\\b/'),
    });
    expect(audienceOf({ ua: 'MyStreamRecorder/1.0 (Linux)', origin: null }).class).toBe('bot');
    expect(audienceOf({ ua: 'streamrecorder', origin: null }).class).toBe('bot');
    // The station's own bot patterns apply to media players too.
    expect(audienceOf({ ua: 'Lavf/58.76.100', origin: null }).class).toBe('bot');
    expect(audienceOf({ ua: 'Lavf/59.27.100', origin: null }).class).toBe('human');
    expect(audienceOf({ ua: 'Icecast 2.4.4', origin: null })).toMatchObject({
      class: 'relay',
      player: 'Icecast',
    });
    expect(audienceOf({ ua: 'Zabbix 6.4', origin: null }).class).toBe('monitor');
    expect(audienceOf({ ua: 'check_http/v2.3 (nagios-plugins)', origin: null }).class).toBe('bot');
    expect(audienceOf({ ua: 'Nagios check', origin: null }).class).toBe('monitor');
  });

  it('decides by origin, then relay, then monitor, then bot patterns', () => {
    const audienceOf = createAudienceOf({
      botAgents: ['Probe'],
      relayAgents: ['Relay'],
      monitorAgents: ['Watch'],
    });
    expect(audienceOf({ ua: 'Relay Watch Probe', origin: 'monitor' }).class).toBe('monitor');
    expect(audienceOf({ ua: 'Watch Probe', origin: 'relay' }).class).toBe('relay');
    expect(audienceOf({ ua: GOOGLEBOT, origin: 'relay' }).class).toBe('relay');
    expect(audienceOf({ ua: 'Relay Watch Probe', origin: null }).class).toBe('relay');
    expect(audienceOf({ ua: 'Watch Probe', origin: null }).class).toBe('monitor');
    expect(audienceOf({ ua: 'Probe', origin: null }).class).toBe('bot');
    // The same user agent decided again from the cache, under another origin.
    expect(audienceOf({ ua: 'Probe', origin: 'monitor' }).class).toBe('monitor');
    expect(audienceOf({ ua: 'Probe', origin: null }).class).toBe('bot');
  });

  it('counts a session without a user agent as a person unless its origin says otherwise', () => {
    const audienceOf = createAudienceOf(noRules);
    const unknown = { device: 'unknown', os: 'unknown', player: 'unknown' };
    expect(audienceOf({ ua: null, origin: null })).toEqual({ class: 'human', ...unknown });
    expect(audienceOf({ ua: '', origin: null })).toEqual({ class: 'human', ...unknown });
    expect(audienceOf({ ua: null, origin: 'relay' })).toEqual({ class: 'relay', ...unknown });
  });

  it('gives equal answers for equal facts, cached or not, and each caller its own object', () => {
    const audienceOf = createAudienceOf(noRules);
    const first = audienceOf({ ua: CHROME_WINDOWS, origin: null });
    first.class = 'bot';
    expect(audienceOf({ ua: CHROME_WINDOWS, origin: null }).class).toBe('human');
    for (let i = 0; i < AUDIENCE_CACHE_SIZE + 5; i++)
      audienceOf({ ua: `Player${i}/1.0 (Linux; Android 13)`, origin: null });
    expect(audienceOf({ ua: CHROME_WINDOWS, origin: null })).toEqual({
      class: 'human',
      device: 'desktop',
      os: 'Windows',
      player: 'Chrome',
    });
  });

  it('throws on an invalid pattern given directly', () => {
    expect(() => createAudienceOf({ ...noRules, botAgents: ['/(/'] })).toThrow('"/(/"');
  });
});
