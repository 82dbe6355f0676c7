/**
 * The error a template that cannot render ends in, naming the file and line at fault.
 * @module
 */

/** A template that cannot render; names the file and line. */
export class TemplateError extends SyntaxError {
  /** What went wrong, without the file and line. */
  readonly reason: string;
  /** The template file. */
  readonly file: string;
  /** 1-based line, where nunjucks reported one. */
  readonly line?: number;
  /** Build the error. */
  constructor(reason: string, file: string, line?: number, options?: ErrorOptions) {
    super(`Cannot render "${file}${line ? `:${line}` : ""}": ${reason}`, options);
    this.name = "TemplateError";
    this.reason = reason;
    this.file = file;
    this.line = line;
  }
}
