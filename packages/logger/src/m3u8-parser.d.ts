// m3u8-parser ships no types; this declares the part the playlist rewriter uses: its line parser.
declare module 'm3u8-parser' {
  export interface ParsedUriLine {
    type: 'uri';
    uri: string;
  }
  export interface ParsedTagLine {
    type: 'tag';
    tagType?: string;
    uri?: string;
    attributes?: Record<string, unknown>;
    duration?: number;
    number?: number;
    [key: string]: unknown;
  }
  export interface ParsedCommentLine {
    type: 'comment';
    text: string;
  }
  export type ParsedLine = ParsedUriLine | ParsedTagLine | ParsedCommentLine;

  /** Turns one playlist line (without its line break) into a `data` event describing it. */
  export class ParseStream {
    on(event: 'data', listener: (line: ParsedLine) => void): void;
    push(line: string): void;
  }
}
