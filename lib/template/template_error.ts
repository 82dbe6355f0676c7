/**
 * The error a template that cannot render ends in, naming the file and line at fault.
 * @module
 */
import { errorOrigin } from "./error_origin.ts";

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

/**
 * The {@linkcode TemplateError} for nunjucks's error `e` while rendering `file`. nunjucks says
 * "(path) [Line n, Column m]\n  reason", one such line per template it passed through; the
 * innermost names the file at fault (an included or imported one, when that is it). An error we
 * raised with its own file and line (bad YAML in an imported file) keeps them. A template that
 * ends inside a block (a missing `endif`) is blamed on its last line, as Jinja does; `source`
 * gives a file's text for that.
 */
export function fromNunjucks(
  e: Error,
  file: string,
  source: (file: string) => string | undefined,
): TemplateError {
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    if (c instanceof TemplateError) return c;
  }
  const header = /^(?:Template render error: )?\(([^)]*)\)(?: \[Line (\d+)(?:, Column \d+)?\])?$/;
  const lines = e.message.split("\n").map((l) => l.trim()).filter(Boolean);
  const named = lines.map((l) => header.exec(l)).findLast((m) => m && m[1] !== "unknown path");
  const reason = lines.filter((l) => !header.test(l)).join("\n") || e.message;
  const origin = errorOrigin(e);
  const where = origin?.file ?? named?.[1] ?? file;
  let line = origin ? origin.line : named?.[2] ? Number(named[2]) : undefined;
  const text = source(where);
  if (line === undefined && /end of file/.test(reason) && text !== undefined) {
    line = text.replace(/\n$/, "").split("\n").length;
  }
  return new TemplateError(reason.replace(/^Error: /, ""), where, line, { cause: e });
}
