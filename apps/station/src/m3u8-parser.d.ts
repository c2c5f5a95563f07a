// m3u8-parser ships no types; this declares the part the station uses: the whole-playlist parser.
declare module 'm3u8-parser' {
  export class Parser {
    push(chunk: string): void;
    end(): void;
    manifest: { segments?: { uri: string; duration: number }[]; targetDuration?: number };
  }
}
