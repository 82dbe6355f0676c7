/**
 * The functions templates may hold and call: Zester's helpers, macros, Python's methods and
 * nunjucks's globals, each registered with {@linkcode trust}. Every other function a template
 * meets is refused (`safe_lookup.ts`).
 * @module
 */

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

const TRUSTED = new WeakSet<Fn>();

/** Let templates hold and call `fn`. */
export function trust<F extends Fn>(fn: F): F {
  TRUSTED.add(fn);
  return fn;
}

/** True when `fn` was registered with {@linkcode trust}. */
export function isTrusted(fn: unknown): boolean {
  return typeof fn === "function" && TRUSTED.has(fn as Fn);
}
