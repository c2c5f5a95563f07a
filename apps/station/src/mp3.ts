/**
 * The live MP3 stream. Byte `p` of an endless loop of the MP3 plays at `p / bytesPerSecond` seconds
 * after the Unix epoch, so every listener shares one live position. A new listener gets a short
 * burst from just behind that position (so a player can fill its buffer), then the bytes as they
 * "happen", at the real bitrate.
 */
export interface LiveMp3Options {
  mp3: Uint8Array;
  bitrateKbps: number;
  now: () => number;
  /** Seconds of audio sent at once on connect. Default 2. */
  burstS?: number;
  /** How long to wait between sends, ms. Default 100. */
  paceMs?: number;
}

/** The absolute byte position of the live edge at `nowMs`. */
export function liveBytePosition(nowMs: number, bitrateKbps: number): number {
  return Math.floor((nowMs * bitrateKbps) / 8);
}

/** A paced body for one listener; stops (and frees its timer) when the client goes away. */
export function liveMp3Body(options: LiveMp3Options): ReadableStream<Uint8Array> {
  const { mp3, bitrateKbps, now } = options;
  const bytesPerSecond = (bitrateKbps * 1000) / 8;
  const paceMs = options.paceMs ?? 100;
  const burstBytes = Math.round((options.burstS ?? 2) * bytesPerSecond);
  let offset = Math.max(0, liveBytePosition(now(), bitrateKbps) - burstBytes);
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let available = liveBytePosition(now(), bitrateKbps) - offset;
        while (available <= 0) {
          await new Promise<void>((resolve) => {
            timer = setTimeout(resolve, paceMs);
          });
          available = liveBytePosition(now(), bitrateKbps) - offset;
        }
        const chunk = loopSlice(mp3, offset, Math.min(available, 64 * 1024));
        offset += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        clearTimeout(timer);
      },
    },
    { highWaterMark: 0 },
  );
}

/** `length` bytes of the endless loop of `data`, starting at absolute position `start`. */
export function loopSlice(data: Uint8Array, start: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let written = 0;
  let at = start % data.byteLength;
  while (written < length) {
    const n = Math.min(length - written, data.byteLength - at);
    out.set(data.subarray(at, at + n), written);
    written += n;
    at = 0;
  }
  return out;
}
