// Characters a terminal acts on instead of showing: C0 controls and DEL (escape sequences, carriage
// return, backspace), C1 controls (U+0080..U+009F: CSI, OSC and friends on terminals that take 8-bit
// controls) and the bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069),
// which reorder what follows them, so a stream named `main\u202Eevil` would print as something else.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_BUT_NEWLINE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the same, with the line feed allowed
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const visible = (c: string) => `<U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`;

/**
 * Text safe to print on a terminal: every control character (C0, DEL, C1) and every bidi control
 * is replaced by a visible `<U+XXXX>`, so names that differ only by one still look different and
 * nothing in the data can move the cursor, recolour, retitle or reorder the output. With
 * `keepNewlines`, line feeds stay (for whole blocks of output).
 */
export function terminalSafe(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? UNSAFE_BUT_NEWLINE : UNSAFE, visible);
}
