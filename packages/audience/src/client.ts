import Bowser from 'bowser';

/** The parsed client of a user agent (DESIGN section 4): device type, operating system, player. */
export interface ClientDescription {
  /** `desktop`, `mobile`, `tablet`, `tv`, `speaker`, `car`, `server`, or `unknown`. */
  device: string;
  /** Operating system name (`iOS`, `Android`, `Windows`, `Linux`...), or `unknown`. */
  os: string;
  /** App or player (`Chrome`, `VLC`, `mpv`, `Lavf`...), or `unknown`. */
  player: string;
}

/** A client bowser does not tell (well) by itself. */
interface KnownClient {
  pattern: RegExp;
  /** The player's name; entries with one are media players, never taken for bots by the generic rule. */
  player?: string;
  /** The device type, when the client says what it runs on. */
  device?: string;
}

// Matched in order, case-insensitively, before bowser's own answer. Media players and radio
// devices often send a bare product token (`Lavf/59.27.100`, `mpv 0.35.1`), which bowser does not
// know and which generic bot lists take for a script.
const KNOWN_CLIENTS: readonly KnownClient[] = [
  { pattern: /\bAlexaMediaPlayer\//i, player: 'AlexaMediaPlayer', device: 'speaker' },
  { pattern: /\bSonos\//i, player: 'Sonos', device: 'speaker' },
  { pattern: /\bCrKey\/.*\bDeviceType\/SmartSpeaker\b/i, player: 'Chromecast', device: 'speaker' },
  { pattern: /\bTesla\/\d/i, device: 'car' },
  { pattern: /^VLC\/|\bLibVLC\//i, player: 'VLC' },
  { pattern: /^mpv[ /]\d/i, player: 'mpv' },
  { pattern: /^Lavf\/\d/i, player: 'Lavf' },
  { pattern: /^ExoPlayerLib\/\d/i, player: 'ExoPlayerLib' },
  { pattern: /^NSPlayer\/\d/i, player: 'NSPlayer' },
  { pattern: /^Winamp/i, player: 'Winamp' },
  { pattern: /^iTunes\/\d/i, player: 'iTunes' },
  { pattern: /^AppleCoreMedia\/\d/i, player: 'AppleCoreMedia' },
  { pattern: /^foobar2000\/\d/i, player: 'foobar2000' },
  { pattern: /^Music Player Daemon\b/i, player: 'MPD' },
  { pattern: /^GStreamer\b/i, player: 'GStreamer' },
];

// bowser's platform types, in the words of Audience.device.
const DEVICES: Readonly<Record<string, string>> = {
  desktop: 'desktop',
  mobile: 'mobile',
  tablet: 'tablet',
  tv: 'tv',
  bot: 'server',
};

// A leading `Product/1.2` or `Product 1.2`: how players and radio apps that are not browsers
// announce themselves.
const PRODUCT = /^([A-Za-z][A-Za-z0-9 ._-]{0,40}?)(?:\/| )v?\d/;

const UNKNOWN: ClientDescription = { device: 'unknown', os: 'unknown', player: 'unknown' };

/** What {@link describeClient} says, and whether the client is a known media player. */
export interface ParsedClient extends ClientDescription {
  mediaPlayer: boolean;
}

/** describeClient, also telling whether the user agent is a known media player. */
export function parseClient(ua: string | null | undefined): ParsedClient {
  const text = typeof ua === 'string' ? ua.trim() : '';
  if (text === '') return { ...UNKNOWN, mediaPlayer: false };
  let browser = '';
  let os = '';
  let platform = '';
  try {
    const parser = Bowser.getParser(text);
    browser = parser.getBrowserName() ?? '';
    os = parser.getOSName() ?? '';
    platform = parser.getPlatformType() ?? '';
  } catch {
    // bowser throws on nothing but a non-string; keep going with the table and the product token.
  }
  const known = KNOWN_CLIENTS.find((client) => client.pattern.test(text));
  const product = PRODUCT.exec(text)?.[1]?.trim() ?? '';
  // bowser is right about browsers (`Mozilla/5.0 ...`); for anything else it guesses from words it
  // spots (`... Android ...` reads as Android Browser), and the product token says more.
  const browserUa = /^Mozilla\//i.test(text);
  const player = known?.player ?? ((browserUa ? browser : '') || product || browser || UNKNOWN.player);
  return {
    device: known?.device ?? DEVICES[platform] ?? UNKNOWN.device,
    os: os || UNKNOWN.os,
    player,
    mediaPlayer: known?.player !== undefined,
  };
}

/**
 * The device type, operating system and player of a user agent: bowser (a maintained UA parser)
 * for browsers and whatever it recognises, a short table for media players, smart speakers and
 * cars, and otherwise the product token the client starts with (`Lavf/59.27.100` → `Lavf`).
 * Each part is `unknown` when the user agent does not tell it (or is absent).
 */
export function describeClient(ua: string | null | undefined): ClientDescription {
  const { device, os, player } = parseClient(ua);
  return { device, os, player };
}
