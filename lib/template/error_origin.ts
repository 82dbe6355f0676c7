/**
 * Where a template error happened: the file and line, even when nunjucks reports it from another
 * file (an error inside a macro imported from `map.jinja`, or a syntax error in an imported file,
 * surfaces in the importing template). Compiled functions and macro bodies pass their template's
 * name to the error handler, the first handler to see an error records it as the error's
 * `origin`, and the compiler records the file of a syntax error.
 * @module
 */
import nunjucks from "nunjucks";
import { nunjucksInternals } from "./nunjucks_internals.ts";

/** An error with the template it happened in. */
interface Located {
  origin?: string;
  lineno?: number;
}

/** The file and line recorded on `e` or an error it was caused by. */
export function errorOrigin(e: unknown): { file: string; line?: number } | undefined {
  for (let c = e; c instanceof Error; c = c.cause) {
    const { origin, lineno } = c as Located;
    if (origin) return { file: origin, line: lineno || undefined };
  }
  return undefined;
}

function locate(e: unknown, file: unknown): void {
  if (e && typeof e === "object" && typeof file === "string" && !(e as Located).origin) {
    (e as Located).origin = file;
  }
}

// deno-lint-ignore no-explicit-any
type Fn = (this: any, ...args: any[]) => any;

/**
 * Patch nunjucks (once per isolate) to record origins; runtime line numbers become 1-based, as
 * nunjucks numbers them from 0 in compiled code.
 */
export function installErrorOrigins(): void {
  const { runtime, Compiler } = nunjucksInternals();
  const proto = Compiler.prototype as Record<string, Fn>;
  const handleError = runtime.handleError;
  runtime.handleError = (e: unknown, lineno: number, colno: number, file?: string) => {
    const err = handleError(e, lineno + 1, colno + 1);
    locate(err, file);
    return err;
  };
  const name = (c: { templateName?: string }) => JSON.stringify(c.templateName ?? null);
  proto._emitFuncEnd = function (noReturn?: boolean) {
    if (!noReturn) this._emitLine(`cb(null, ${this.buffer});`);
    this._closeScopeLevels();
    this._emitLine("} catch (e) {");
    this._emitLine(`  cb(runtime.handleError(e, lineno, colno, ${name(this)}));`);
    this._emitLine("}");
    this._emitLine("}");
    this.buffer = null;
  };
  // A macro body runs in its caller's error handler: give it its own, naming its template.
  const emitLine = proto._emitLine!;
  const compileMacro = proto._compileMacro!;
  proto._compileMacro = function (...args: unknown[]) {
    const outer = Object.getOwnPropertyDescriptor(this, "_emitLine");
    this._emitLine = function (code: string) {
      if (code === "var callerFrame = frame;") return emitLine.call(this, `${code} try {`);
      emitLine.call(this, code);
      if (/^return new runtime\.SafeString\(/.test(code)) {
        emitLine.call(
          this,
          `} catch (e) { throw runtime.handleError(e, lineno, colno, ${name(this)}); }`,
        );
      }
    };
    try {
      return compileMacro.apply(this, args);
    } finally {
      if (outer) Object.defineProperty(this, "_emitLine", outer);
      else delete this._emitLine;
    }
  };
  const template = (nunjucks as unknown as { Template: { prototype: Record<string, Fn> } })
    .Template.prototype;
  const compile = template._compile!;
  template._compile = function () {
    try {
      return compile.call(this);
    } catch (e) {
      locate(e, this.path);
      throw e;
    }
  };
}
