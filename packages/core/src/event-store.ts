import type { Origin } from './audience.js';
import type { ListenEvent, Output } from './event.js';

/** An event's client facts, kept once per distinct combination (see {@link EventStore}). */
export interface EventClient {
  ua: string | undefined;
  country: string | undefined;
  origin: Origin | undefined;
}

/**
 * One session id's events, column by column: how events cross to another thread (plain data for
 * structured clone). See {@link EventStore.export}.
 */
export interface PackedSession {
  /** The session id all these events share. */
  session: string;
  /** Number of events; each column below holds one entry per event (`idWords` four). */
  n: number;
  /** `time` of each event, epoch ms. */
  times: Float64Array;
  /** `bytes` of each event. */
  bytes: Float64Array;
  /** `round(duration * 1000)`: core's math uses durations in integer milliseconds only. */
  durationsMs: Int32Array;
  /** 0 = shoutcast, 1 = hls. */
  outputs: Uint8Array;
  /** Index into `strings`. */
  streams: Uint32Array;
  /** Index into `strings` + 1; 0 = no listener. */
  listeners: Uint32Array;
  /** 0 = no id, 1 = a UUID in `idWords`, 2 = another id in `otherIds`. */
  idKinds: Uint8Array;
  /** Four 32-bit words per event: its UUID `id` packed by {@link packUuid} (kind 1 only). */
  idWords: Uint32Array;
  /** Event index -> `id`, for ids that are not lowercase UUIDs (kind 2). */
  otherIds: Map<number, string>;
  /** The stream keys and listener keys the events name, each once. */
  strings: string[];
  /** Index into `clientList` + 1 of each event's client facts; 0 = none. */
  clients: Uint32Array;
  /** The client facts (`ua`, `country`, `origin`) the events carry, each combination once. */
  clientList: EventClient[];
}

const HEX = '0123456789abcdef';
// Hex digit values of char codes 0..127 (-1: not a lowercase hex digit).
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE[HEX.charCodeAt(i)] = i;

function hexWord(id: string, at: number, digits: number): number {
  let word = 0;
  for (let i = at; i < at + digits; i++) {
    const code = id.charCodeAt(i);
    const value = code < 128 ? HEX_VALUE[code]! : -1;
    if (value < 0) return -1;
    word = (word << 4) | value;
  }
  return word >>> 0;
}

/** Packs a lowercase 8-4-4-4-12 UUID into four words at `into[at..at+3]`; false for any other id. */
export function packUuid(id: string, into: Uint32Array, at: number): boolean {
  if (
    id.length !== 36 ||
    id.charCodeAt(8) !== 45 ||
    id.charCodeAt(13) !== 45 ||
    id.charCodeAt(18) !== 45 ||
    id.charCodeAt(23) !== 45
  ) {
    return false;
  }
  const a = hexWord(id, 0, 8);
  const b = hexWord(id, 9, 4);
  const c = hexWord(id, 14, 4);
  const d = hexWord(id, 19, 4);
  const e = hexWord(id, 24, 4);
  const f = hexWord(id, 28, 8);
  if (a < 0 || b < 0 || c < 0 || d < 0 || e < 0 || f < 0) return false;
  into[at] = a;
  into[at + 1] = ((b << 16) | c) >>> 0;
  into[at + 2] = ((d << 16) | e) >>> 0;
  into[at + 3] = f;
  return true;
}

/** The UUID string of four packed words. */
export function unpackUuid(words: Uint32Array, at: number): string {
  let out = '';
  for (let w = 0; w < 4; w++) {
    const word = words[at + w]!;
    for (let shift = 28; shift >= 0; shift -= 4) {
      const c = out.length;
      if (c === 8 || c === 13 || c === 18 || c === 23) out += '-';
      out += HEX[(word >>> shift) & 15];
    }
  }
  return out;
}

/** Where one session id's events sit in the store: a linked list through `next`. */
interface SessionList {
  head: number;
  tail: number;
  n: number;
  // The previous event's stream and listener and their indexes: nearly always the same again.
  stream: string;
  streamIndex: number;
  listener: string | undefined;
  listenerIndex: number;
  client: EventClient | undefined;
  clientIndex: number;
}

const ID_NONE = 0;
const ID_UUID = 1;
const ID_OTHER = 2;

/**
 * Listen events held compactly until their session ids are finalized: the memory of
 * {@link ReportBuilder} and of the CLI's offline report.
 * All events sit in one set of typed-array columns (about 50 bytes an event; nothing for the garbage
 * collector to trace or copy), each session id's events linked in arrival order. A lowercase UUID
 * `id` is kept as four 32-bit words and turned back into a string only if core asks for it (it
 * compares ids only between events of one session id with the same time).
 */
export class EventStore {
  /**
   * The session ids added, in first-seen order (the keys); the values say where their events sit
   * and are internal. Read the events with {@link EventStore.events} or {@link EventStore.export}.
   */
  readonly sessions = new Map<string, SessionList>();
  /** Events added (duplicates included). */
  size = 0;
  private capacity = 0;
  // The columns; `size` entries are in use. Public because ColumnEvent reads them through the
  // structural EventColumns type, which private fields cannot satisfy; not an API (their layout may
  // change in any release).
  /** @internal `time` of each event, epoch ms. */
  times = new Float64Array(0);
  /** @internal `bytes` of each event. */
  bytes = new Float64Array(0);
  /** @internal `round(duration * 1000)` of each event, integer ms. */
  durationsMs = new Int32Array(0);
  /** @internal 0 = shoutcast, 1 = hls. */
  outputs = new Uint8Array(0);
  /** @internal Index into `strings` of each event's stream key. */
  streams = new Uint32Array(0);
  /** @internal Index into `strings` + 1 of each event's listener key; 0 = no listener. */
  listeners = new Uint32Array(0);
  /** @internal 0 = no id, 1 = a UUID in `idWords`, 2 = another id in `otherIds`. */
  idKinds = new Uint8Array(0);
  /** @internal Four words per event: its packed UUID id (kind 1). */
  idWords = new Uint32Array(0);
  /** @internal Index of the session id's next event, -1 at its last: the per-id linked lists. */
  next = new Int32Array(0);
  /** @internal Event index -> id, for ids that are not lowercase UUIDs (kind 2). */
  readonly otherIds = new Map<number, string>();
  /** @internal Stream and listener keys, each once (interned). */
  readonly strings: string[] = [];
  private readonly stringIndexes = new Map<string, number>();
  /** @internal Index into `clientList` + 1 of each event's client facts; 0 = none. */
  clients = new Uint32Array(0);
  /** @internal Client facts, each combination once (interned). */
  readonly clientList: EventClient[] = [];
  private readonly clientIndexes = new Map<string, number>();

  /**
   * Makes room for `events` events in all, at once: with a good estimate (the file's size over its
   * average line length) the columns are allocated once instead of grown and copied.
   */
  reserve(events: number): void {
    if (events > this.capacity) this.grow(Math.ceil(events));
  }

  private grow(atLeast = 0): void {
    const capacity = Math.max(1024, Math.ceil(this.capacity * 1.5), atLeast);
    const resize = <T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(
      array: T,
      size: number,
    ): T => {
      const bigger = new (array.constructor as new (n: number) => T)(size);
      bigger.set(array);
      return bigger;
    };
    this.times = resize(this.times, capacity);
    this.bytes = resize(this.bytes, capacity);
    this.durationsMs = resize(this.durationsMs, capacity);
    this.outputs = resize(this.outputs, capacity);
    this.streams = resize(this.streams, capacity);
    this.listeners = resize(this.listeners, capacity);
    this.clients = resize(this.clients, capacity);
    this.idKinds = resize(this.idKinds, capacity);
    this.idWords = resize(this.idWords, capacity * 4);
    this.next = resize(this.next, capacity);
    this.capacity = capacity;
  }

  private intern(text: string): number {
    let index = this.stringIndexes.get(text);
    if (index === undefined) {
      index = this.strings.length;
      this.strings.push(text);
      this.stringIndexes.set(text, index);
    }
    return index;
  }

  private internClient(
    ua: string | undefined,
    country: string | undefined,
    origin: Origin | undefined,
  ): number {
    if (ua === undefined && country === undefined && origin === undefined) return 0;
    const key = `${ua ?? ''}\u0000${ua === undefined ? 0 : 1}${country ?? ''}\u0000${origin ?? ''}`;
    let index = this.clientIndexes.get(key);
    if (index === undefined) {
      index = this.clientList.length;
      this.clientList.push({ ua, country, origin });
      this.clientIndexes.set(key, index);
    }
    return index + 1;
  }

  /** Adds one valid event (see core's `parseEvent`). */
  add(event: ListenEvent): void {
    if (this.size === this.capacity) this.grow();
    const i = this.size++;
    let list = this.sessions.get(event.session);
    if (!list) {
      list = {
        head: i,
        tail: i,
        n: 0,
        stream: '',
        streamIndex: -1,
        listener: undefined,
        listenerIndex: 0,
        client: undefined,
        clientIndex: 0,
      };
      this.sessions.set(event.session, list);
    } else {
      this.next[list.tail] = i;
      list.tail = i;
    }
    list.n++;
    this.next[i] = -1;
    this.times[i] = event.time;
    this.bytes[i] = event.bytes;
    this.durationsMs[i] = Math.round(event.duration * 1000);
    this.outputs[i] = event.output === 'hls' ? 1 : 0;
    if (event.stream !== list.stream || list.streamIndex < 0) {
      list.stream = event.stream;
      list.streamIndex = this.intern(event.stream);
    }
    this.streams[i] = list.streamIndex;
    const listener = event.listener;
    if (listener !== list.listener) {
      list.listener = listener;
      list.listenerIndex = listener === undefined ? 0 : this.intern(listener) + 1;
    }
    this.listeners[i] = list.listenerIndex;
    const last = list.client;
    if (!last || last.ua !== event.ua || last.country !== event.country || last.origin !== event.origin) {
      list.clientIndex = this.internClient(event.ua, event.country, event.origin);
      list.client = { ua: event.ua, country: event.country, origin: event.origin };
    }
    this.clients[i] = list.clientIndex;
    const id = event.id;
    if (id === undefined) this.idKinds[i] = ID_NONE;
    else if (packUuid(id, this.idWords, i * 4)) this.idKinds[i] = ID_UUID;
    else {
      this.idKinds[i] = ID_OTHER;
      this.otherIds.set(i, id);
    }
  }

  /** The `id` of the `i`-th event added (from 0), rebuilt as a string; undefined when it had none. */
  idOf(i: number): string | undefined {
    return idAt(this, i);
  }

  /** A session id's events (in the order added), as core's functions take them. */
  events(session: string): ListenEvent[] {
    const list = this.sessions.get(session);
    if (!list) return [];
    const events: ListenEvent[] = new Array(list.n);
    for (let i = list.head, k = 0; i >= 0; i = this.next[i]!, k++)
      events[k] = new ColumnEvent(this, session, i);
    return events;
  }

  /** A session id's events as plain columns, to hand to another thread. */
  export(session: string): PackedSession {
    const list = this.sessions.get(session);
    const n = list?.n ?? 0;
    const packed: PackedSession = {
      session,
      n,
      times: new Float64Array(n),
      bytes: new Float64Array(n),
      durationsMs: new Int32Array(n),
      outputs: new Uint8Array(n),
      streams: new Uint32Array(n),
      listeners: new Uint32Array(n),
      idKinds: new Uint8Array(n),
      idWords: new Uint32Array(n * 4),
      otherIds: new Map(),
      strings: [],
      clients: new Uint32Array(n),
      clientList: [],
    };
    const localClients = new Map<number, number>();
    const local = new Map<number, number>();
    const localString = (index: number) => {
      let mapped = local.get(index);
      if (mapped === undefined) {
        mapped = packed.strings.length;
        packed.strings.push(this.strings[index]!);
        local.set(index, mapped);
      }
      return mapped;
    };
    for (let i = list ? list.head : -1, k = 0; i >= 0; i = this.next[i]!, k++) {
      packed.times[k] = this.times[i]!;
      packed.bytes[k] = this.bytes[i]!;
      packed.durationsMs[k] = this.durationsMs[i]!;
      packed.outputs[k] = this.outputs[i]!;
      packed.streams[k] = localString(this.streams[i]!);
      const listener = this.listeners[i]!;
      packed.listeners[k] = listener === 0 ? 0 : localString(listener - 1) + 1;
      const client = this.clients[i]!;
      if (client !== 0) {
        let mapped = localClients.get(client);
        if (mapped === undefined) {
          packed.clientList.push(this.clientList[client - 1]!);
          mapped = packed.clientList.length;
          localClients.set(client, mapped);
        }
        packed.clients[k] = mapped;
      }
      const kind = this.idKinds[i]!;
      packed.idKinds[k] = kind;
      if (kind === ID_UUID) packed.idWords.set(this.idWords.subarray(i * 4, i * 4 + 4), k * 4);
      else if (kind === ID_OTHER) packed.otherIds.set(k, this.otherIds.get(i)!);
    }
    return packed;
  }
}

/** The columns an event is read back from: an {@link EventStore}'s or a {@link PackedSession}'s. */
type EventColumns = Pick<
  PackedSession,
  | 'times'
  | 'bytes'
  | 'durationsMs'
  | 'outputs'
  | 'streams'
  | 'listeners'
  | 'idKinds'
  | 'idWords'
  | 'otherIds'
  | 'strings'
  | 'clients'
  | 'clientList'
>;

/** The id of event `i` of some columns, rebuilt as a string. */
function idAt(columns: EventColumns, i: number): string | undefined {
  const kind = columns.idKinds[i];
  if (kind === ID_UUID) return unpackUuid(columns.idWords, i * 4);
  if (kind === ID_OTHER) return columns.otherIds.get(i);
  return undefined;
}

/**
 * An event read back from columns. Its `id` is built only when asked for: core compares ids only
 * between events of one session id with the same time, so most are never turned back into strings.
 */
class ColumnEvent implements ListenEvent {
  readonly session: string;
  readonly stream: string;
  readonly output: Output;
  readonly time: number;
  readonly duration: number;
  readonly bytes: number;
  readonly listener: string | undefined;
  readonly ua: string | undefined;
  readonly country: string | undefined;
  readonly origin: Origin | undefined;
  private readonly columns: EventColumns;
  private readonly index: number;

  constructor(columns: EventColumns, session: string, i: number) {
    const listener = columns.listeners[i]!;
    this.session = session;
    this.stream = columns.strings[columns.streams[i]!]!;
    this.output = columns.outputs[i] === 1 ? 'hls' : 'shoutcast';
    this.time = columns.times[i]!;
    this.duration = columns.durationsMs[i]! / 1000;
    this.bytes = columns.bytes[i]!;
    this.listener = listener === 0 ? undefined : columns.strings[listener - 1];
    const client = columns.clients[i]!;
    const facts = client === 0 ? undefined : columns.clientList[client - 1];
    this.ua = facts?.ua;
    this.country = facts?.country;
    this.origin = facts?.origin;
    this.columns = columns;
    this.index = i;
  }

  get id(): string | undefined {
    return idAt(this.columns, this.index);
  }
}

/** The events of a packed session (from another thread), as core's functions take them. */
export function packedEvents(packed: PackedSession): ListenEvent[] {
  const events: ListenEvent[] = new Array(packed.n);
  for (let k = 0; k < packed.n; k++) events[k] = new ColumnEvent(packed, packed.session, k);
  return events;
}
