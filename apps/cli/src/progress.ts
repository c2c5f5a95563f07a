import { formatNumber } from './format-table.js';

/** Files at least this big get a progress line (when stderr is a terminal). */
export const PROGRESS_MIN_BYTES = 20 * 1024 * 1024;

/**
 * A one-line progress display on a terminal: percent of the file read and lines per second,
 * redrawn in place. The reader calls it at most about four times a second.
 */
export function createProgress(stream: NodeJS.WriteStream, name: string, totalBytes: number) {
  const started = performance.now();
  let shown = false;
  return {
    update({ bytesRead, lines }: { bytesRead: number; lines: number }): void {
      const seconds = (performance.now() - started) / 1000;
      const percent = totalBytes > 0 ? Math.min(100, (bytesRead / totalBytes) * 100) : 0;
      const rate = seconds > 0 ? lines / seconds : 0;
      stream.write(
        `\r\u001b[2K${name}: ${percent.toFixed(0)}% read, ${formatNumber(lines)} lines, ${formatNumber(rate)} lines/s`,
      );
      shown = true;
    },
    done(): void {
      if (shown) stream.write('\r\u001b[2K');
    },
  };
}
