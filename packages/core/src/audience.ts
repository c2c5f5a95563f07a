/**
 * Who a session was (DESIGN section 4, net and gross; geography and devices). Core only carries and
 * counts these facts: the rules that decide them (bot lists, IP ranges, the IP database, the user
 * agent parser) live in `@earshot/audience`, so core stays free of dependencies and browser-safe.
 */

/** A session's class: a person, or excluded from net figures with the reason. */
export type SessionClass = 'human' | 'bot' | 'relay' | 'monitor';

/** Every class, human first, then the exclusion reasons. */
export const SESSION_CLASSES: readonly SessionClass[] = ['human', 'bot', 'relay', 'monitor'];

/** The reasons a session is left out of net figures. */
export type ExclusionReason = Exclude<SessionClass, 'human'>;

/** The exclusion reasons, in the order reports list them. */
export const EXCLUSION_REASONS: readonly ExclusionReason[] = ['bot', 'relay', 'monitor'];

/**
 * What ingest learned from an event's IP before dropping it: set by ingest (and by the offline CLI
 * from the same rules), never accepted from a client.
 */
export type Origin = 'relay' | 'monitor';

/** The client facts a session's audience is decided from: its first user agent and IP origin. */
export interface ClientFacts {
  /** The first non-empty `ua` of its events, or null. */
  ua: string | null;
  /** The first `origin` of its events (an event from a configured relay or monitor range), or null. */
  origin: Origin | null;
}

/** A session's class and parsed client (DESIGN section 4). */
export interface Audience {
  class: SessionClass;
  /** Device type: `desktop`, `mobile`, `tablet`, `tv`, `speaker`, `car`, `server`, or `unknown`. */
  device: string;
  /** Operating system name (`iOS`, `Android`, `Windows`, `Linux`...), or `unknown`. */
  os: string;
  /** App or player (`Chrome`, `VLC`, `mpv`, `Lavf`...), or `unknown`. */
  player: string;
}

/** Decides a session's audience from its client facts. Must be a pure function of them. */
export type AudienceOf = (client: ClientFacts) => Audience;

/**
 * The audience when no rules are given: relays and monitors by origin (ingest's IP ranges), every
 * other session human; the client unparsed (`unknown`).
 */
export const originOnlyAudience: AudienceOf = (client) => ({
  class: client.origin ?? 'human',
  device: 'unknown',
  os: 'unknown',
  player: 'unknown',
});

/** Which sessions a report counts: humans only (net, the default, as the IAB and Triton report) or all. */
export type Basis = 'net' | 'gross';

/** Dimensions a report can be broken down by (`--by`, `by=`). */
export type BreakdownDimension = 'country' | 'device' | 'os' | 'player' | 'output' | 'class';

export const BREAKDOWN_DIMENSIONS: readonly BreakdownDimension[] = [
  'country',
  'device',
  'os',
  'player',
  'output',
  'class',
];

/** The value a group takes when the session lacks the fact (no country, no user agent). */
export const UNKNOWN_GROUP = 'unknown';

/**
 * Sessions listening this long (delivered audio, seconds) look like a stream left running: they
 * stay in net figures (nobody can tell) and are counted apart in the summary. Default 8 h.
 */
export const DEFAULT_LEFT_RUNNING_S = 8 * 3600;
