import { describe, expect, it } from 'vitest';
import { describeClient } from './client.js';

const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const SAFARI_IPAD =
  'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const CHROME_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
const SAMSUNG_TV =
  'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const TESLA =
  'Mozilla/5.0 (X11; GNU/Linux) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/79.0.3945.130 Chrome/79.0.3945.130 Safari/537.36 Tesla/2020.16.2.1-e99c70fff409';

describe('describeClient', () => {
  it('reads browsers with bowser', () => {
    expect(describeClient(CHROME_WINDOWS)).toEqual({ device: 'desktop', os: 'Windows', player: 'Chrome' });
    expect(describeClient(SAFARI_IPHONE)).toEqual({ device: 'mobile', os: 'iOS', player: 'Safari' });
    expect(describeClient(SAFARI_IPAD)).toEqual({ device: 'tablet', os: 'iOS', player: 'Safari' });
    expect(describeClient(CHROME_ANDROID)).toEqual({ device: 'mobile', os: 'Android', player: 'Chrome' });
    expect(describeClient(SAMSUNG_TV)).toMatchObject({ device: 'tv', os: 'Tizen' });
  });

  it("calls a crawler's platform a server", () => {
    expect(describeClient(GOOGLEBOT)).toEqual({ device: 'server', os: 'unknown', player: 'Googlebot' });
  });

  it('names media players by their product token, with no OS when they give none', () => {
    const unknownDevice = (player: string) => ({ device: 'unknown', os: 'unknown', player });
    expect(describeClient('VLC/3.0.18 LibVLC/3.0.18')).toEqual(unknownDevice('VLC'));
    expect(describeClient('mpv 0.35.1')).toEqual(unknownDevice('mpv'));
    expect(describeClient('Lavf/59.27.100')).toEqual(unknownDevice('Lavf'));
    expect(describeClient('ExoPlayerLib/2.19.1')).toEqual(unknownDevice('ExoPlayerLib'));
    expect(describeClient('NSPlayer/12.00.19041.1 WMFSDK/12.00.19041.1')).toEqual(unknownDevice('NSPlayer'));
    expect(describeClient('Winamp')).toEqual(unknownDevice('Winamp'));
    expect(describeClient('WinampMPEG/5.66, Ultravox/2.1')).toEqual(unknownDevice('Winamp'));
    expect(describeClient('foobar2000/2.1')).toEqual(unknownDevice('foobar2000'));
    expect(describeClient('Music Player Daemon 0.23.12')).toEqual(unknownDevice('MPD'));
    expect(describeClient('GStreamer souphttpsrc 1.22.0 libsoup/3.2.2')).toEqual(unknownDevice('GStreamer'));
  });

  it('keeps what bowser reads of a player that tells its platform', () => {
    expect(
      describeClient('AppleCoreMedia/1.0.0.20G75 (iPhone; U; CPU OS 16_6 like Mac OS X; en_us)'),
    ).toEqual({
      device: 'mobile',
      os: 'iOS',
      player: 'AppleCoreMedia',
    });
    expect(describeClient('iTunes/12.12.4 (Macintosh; OS X 10.15.7) AppleWebKit/7614.4.6.1.5')).toEqual({
      device: 'desktop',
      os: 'macOS',
      player: 'iTunes',
    });
  });

  it('prefers the product token to a guess for apps that are not browsers', () => {
    // bowser reads any `... Android ...` agent as the stock Android Browser on a tablet.
    expect(describeClient('TuneIn Radio/29.1.0; Android 13; SM-A536B')).toMatchObject({
      os: 'Android',
      player: 'TuneIn Radio',
    });
    expect(describeClient('MyStation/4.2 (Linux;Android 13) ExoPlayerLib/2.19.1')).toMatchObject({
      os: 'Android',
      player: 'MyStation',
    });
    expect(describeClient('Liquidsoap/2.2.5 (Unix; OCaml 4.14.1)').player).toBe('Liquidsoap');
  });

  it('recognises smart speakers and cars', () => {
    expect(
      describeClient('AlexaMediaPlayer/2.1.4676.0 (Linux;Android 5.1.1) ExoPlayerLib/1.5.9'),
    ).toMatchObject({
      device: 'speaker',
      player: 'AlexaMediaPlayer',
    });
    expect(describeClient('Linux UPnP/1.0 Sonos/80.1-55240 (ZPS29)')).toMatchObject({
      device: 'speaker',
      player: 'Sonos',
    });
    expect(
      describeClient(
        'Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/103.0.5060.225 Safari/537.36 CrKey/1.56.500000 DeviceType/SmartSpeaker',
      ),
    ).toMatchObject({ device: 'speaker', player: 'Chromecast' });
    expect(describeClient(TESLA)).toEqual({ device: 'car', os: 'Linux', player: 'Chromium' });
  });

  it('is unknown three times over without a user agent', () => {
    const unknown = { device: 'unknown', os: 'unknown', player: 'unknown' };
    expect(describeClient(undefined)).toEqual(unknown);
    expect(describeClient(null)).toEqual(unknown);
    expect(describeClient('')).toEqual(unknown);
    expect(describeClient('   ')).toEqual(unknown);
    expect(describeClient('-')).toEqual(unknown);
  });
});
