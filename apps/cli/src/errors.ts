/** A bad command line or environment: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Bad input data (a malformed event line): exit code 1. */
export class DataError extends Error {
  override name = 'DataError';
  /** The line it is about, when there is one. */
  readonly line: number | undefined;

  constructor(message: string, line?: number) {
    super(message);
    this.line = line;
  }
}
