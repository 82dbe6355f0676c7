/**
 * The error a settings tree that cannot compile ends in, naming the file and line at fault.
 * @module
 */

/** Settings that cannot compile: names the file (and line where known). */
export class SettingsError extends SyntaxError {
  /** What went wrong, without the file and line. */
  readonly reason: string;
  /** The settings file at fault. */
  readonly file?: string;
  /** 1-based line, where known. */
  readonly line?: number;

  /** Build the error. */
  constructor(reason: string, file?: string, line?: number, options?: ErrorOptions) {
    const at = file ? ` "${file}${line ? `:${line}` : ""}"` : "";
    super(`Cannot compile settings${at}: ${reason}`, options);
    this.name = "SettingsError";
    this.reason = reason;
    this.file = file;
    this.line = line;
  }
}
