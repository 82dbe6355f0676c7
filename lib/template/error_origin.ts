/**
 * Where a template error happened: the file and line, even when nunjucks reports it from another
 * file. nunjucks runs the rest of a template inside the callbacks of its imports, so an error in
 * `init.sls` after `{% from "map.jinja" import … %}` reaches `map.jinja`'s error handler first,
 * and an error in a macro reaches its caller's. So every expression records where it is
 * ({@linkcode position}), and the first handler to see an error records that as its origin; the
 * compiler records the file of a syntax error.
 * @module
 */
import nunjucks from "nunjucks";
import { nunjucksInternals } from "./nunjucks_internals.ts";
import { TemplateError } from "./template_error.ts";

/** An error with the place it happened. */
interface Located {
  origin?: string;
  originLine?: number;
  lineno?: number;
}

/** The file and line recorded on `e` or an error it was caused by. */
export function errorOrigin(e: unknown): { file: string; line?: number } | undefined {
  for (let c = e; c instanceof Error; c = c.cause) {
    const { origin, originLine, lineno } = c as Located;
    if (origin) return { file: origin, line: originLine ?? (lineno || undefined) };
  }
  return undefined;
}

/** The runtime's record of the last expression evaluated: `file:line`. */
interface Where {
  pyAt?: string;
}

/**
 * Compiled code that records the position of `node` of `template` before it is evaluated, both
 * in nunjucks's `lineno`/`colno` and in the runtime's last position; ends with a comma.
 */
export function position(template: string | undefined, node: { lineno: number; colno: number }) {
  const at = JSON.stringify(`${template ?? ""}:${node.lineno + 1}`);
  return `lineno = ${node.lineno}, colno = ${node.colno}, runtime.pyAt = ${at}, `;
}

/**
 * Patch nunjucks (once per isolate) to record origins; runtime line numbers become 1-based, as
 * nunjucks numbers them from 0 in compiled code.
 */
export function installErrorOrigins(): void {
  const { runtime } = nunjucksInternals();
  const where = runtime as unknown as Where;
  const handleError = runtime.handleError;
  runtime.handleError = (e: unknown, lineno: number, colno: number) => {
    const fresh = !(e && typeof e === "object" && (e as Located).origin);
    const err = handleError(e, lineno + 1, colno + 1) as Located;
    const at = where.pyAt;
    if (fresh && at && !err.origin) {
      const i = at.lastIndexOf(":");
      err.origin = at.slice(0, i) || undefined;
      err.originLine = Number(at.slice(i + 1));
    }
    return err;
  };
  // deno-lint-ignore no-explicit-any
  const template = (nunjucks as any).Template.prototype;
  const compile = template._compile;
  template._compile = function (this: { path: string }) {
    try {
      return compile.call(this);
    } catch (e) {
      // A syntax error: nunjucks gives its line, the file is the one being compiled.
      if (e && typeof e === "object" && !(e as Located).origin) (e as Located).origin = this.path;
      throw e;
    }
  };
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
