/**
 * The parts of npm:nunjucks's internals (3.2.x) that the Jinja compatibility layer and the safe
 * lookups replace or extend; nunjucks's own types do not describe them.
 * @module
 */
import nunjucks from "nunjucks";

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

/** nunjucks's runtime module, whose functions compiled templates call. */
export interface Runtime {
  memberLookup: Fn;
  contextOrFrameLookup: Fn;
  callWrap: Fn;
  makeMacro: Fn;
  handleError: Fn;
  inOperator: Fn;
  suppressValue: Fn;
  SafeString: new (s: string) => { val: string };
}

/** nunjucks's helpers. */
export interface Lib {
  _assign: Fn;
  groupBy: Fn;
  toArray: Fn;
}

/** A template context (what compiled code passes as `context`). */
export interface Context {
  ctx: Record<string, unknown>;
  env: { globals: Record<string, unknown>; opts: { throwOnUndefined?: boolean } };
}

/** A frame of template variables. */
export interface Frame {
  lookup(name: string): unknown;
}

/** The internals, typed. */
export function nunjucksInternals() {
  // deno-lint-ignore no-explicit-any
  const n = nunjucks as any;
  return {
    runtime: n.runtime as Runtime,
    lib: n.lib as Lib,
    nodes: n.nodes,
    lexer: n.lexer,
    Compiler: n.compiler.Compiler as { prototype: Record<string, Fn> },
    Parser: n.parser.Parser as { prototype: Record<string, Fn> },
  };
}
