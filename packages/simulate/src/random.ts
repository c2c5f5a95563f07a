/** A seed: a number (its low 32 bits are used) or any string. */
export type Seed = number | string;

/**
 * A small seeded pseudo-random source (sfc32, 128-bit state). Not for secrets: it exists so that
 * the same seed yields the same station, event for event, on every runtime.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** Standard normal (mean 0, sd 1). */
  normal(): number;
  /** Exponential with the given mean. */
  exponential(mean: number): number;
  /** Poisson-distributed count with the given mean (small means only). */
  poisson(mean: number): number;
  /** One item of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** `digits` lowercase hex digits. */
  hex(digits: number): string;
}

/** Murmur3's 32-bit finalizer: a cheap, well-mixing hash of one 32-bit word. */
export function mix32(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit seed from a number or a string (FNV-1a for strings). */
export function seedOf(seed: Seed): number {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
    // Fold in the high bits too, so 1 and 2**32 + 1 differ.
    return mix32((seed >>> 0) ^ mix32(Math.floor(seed / 4_294_967_296)));
  }
  let hash = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) hash = Math.imul(hash ^ seed.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * A seed for an independent sub-stream (`purpose`, `index`) of a seed: each session draws from its
 * own stream, so one session's randomness never depends on how many numbers another one used.
 */
export function deriveSeed(seed: number, purpose: number, index = 0): number {
  return mix32(seed ^ mix32(Math.imul(purpose + 1, 0x9e3779b9) ^ mix32(index + 0x632be5ab)));
}

/** A seeded {@link Random} (sfc32). */
export function createRandom(seed: Seed): Random {
  const base = seedOf(seed);
  let a = mix32(base ^ 0x243f6a88);
  let b = mix32(base ^ 0x85a308d3);
  let c = mix32(base ^ 0x13198a2e);
  let d = mix32(base ^ 0x03707344);

  const uint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // The first outputs of a fresh state are poorly mixed; skip them.
  for (let i = 0; i < 12; i++) uint32();

  const next = (): number => uint32() / 4_294_967_296;
  let spareNormal: number | undefined;

  const random: Random = {
    next,
    uint32,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    uniform: (min, max) => min + next() * (max - min),
    chance: (p) => next() < p,
    normal: () => {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      // Box-Muller; 1 - next() is in (0, 1], so the log is finite.
      const r = Math.sqrt(-2 * Math.log(1 - next()));
      const theta = 2 * Math.PI * next();
      spareNormal = r * Math.sin(theta);
      return r * Math.cos(theta);
    },
    exponential: (mean) => -mean * Math.log(1 - next()),
    poisson: (mean) => {
      // Knuth's product method: fine for the small means used here.
      const limit = Math.exp(-mean);
      let count = 0;
      let product = next();
      while (product > limit) {
        count++;
        product *= next();
      }
      return count;
    },
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick() needs a non-empty array');
      return items[Math.floor(next() * items.length)]!;
    },
    hex: (digits) => {
      let out = '';
      while (out.length < digits) out += uint32().toString(16).padStart(8, '0');
      return out.length === digits ? out : out.slice(0, digits);
    },
  };
  return random;
}

// Ids are built as character codes: much faster than Number#toString(16) and concatenation, which
// matters when a benchmark generates millions of events.
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const uuidCodes = new Array<number>(36).fill(45); // '-' at 8, 13, 18, 23

function putHex(at: number, value: number, digits: number): void {
  let v = value;
  for (let i = digits - 1; i >= 0; i--) {
    uuidCodes[at + i] = HEX_CODES[v & 15]!;
    v >>>= 4;
  }
}

/**
 * A UUIDv7-shaped id (RFC 9562 layout: 48-bit ms timestamp, version 7, variant 10) whose random bits
 * come from `random`, so ids are unique in practice and reproducible from the seed.
 */
export function uuidv7(timeMs: number, random: Random): string {
  const ms = Math.max(0, Math.floor(timeMs));
  putHex(0, Math.floor(ms / 65_536) >>> 0, 8);
  putHex(9, ms % 65_536, 4);
  const a = random.uint32();
  uuidCodes[14] = 55; // '7'
  putHex(15, a & 0xfff, 3);
  putHex(19, 0x8000 | ((a >>> 12) & 0x3fff), 4);
  putHex(24, random.uint32(), 8);
  putHex(32, random.uint32() >>> 16, 4);
  return String.fromCharCode.apply(null, uuidCodes);
}

/** A UUIDv4-shaped id from `random` (player session ids look like this). */
export function uuidv4(random: Random): string {
  putHex(0, random.uint32(), 8);
  const b = random.uint32();
  putHex(9, b >>> 16, 4);
  uuidCodes[14] = 52; // '4'
  putHex(15, b & 0xfff, 3);
  const c = random.uint32();
  putHex(19, 0x8000 | (c & 0x3fff), 4);
  putHex(24, c >>> 16, 4);
  putHex(28, random.uint32(), 8);
  return String.fromCharCode.apply(null, uuidCodes);
}
