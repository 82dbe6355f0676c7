/**
 * The shapes of the state system: compiled states (Salt's lowstate chunks), their results,
 * and the errors that name the file and line.
 * @module
 */

/** Requisite kinds a state can declare (each also has an `_in` form). */
export const REQUISITES = [
  "require",
  "watch",
  "onchanges",
  "onfail",
  "prereq",
  "listen",
  "use",
] as const;
/** One of {@linkcode REQUISITES}. */
export type Requisite = typeof REQUISITES[number];

/** A reference to another state: by module and id or name, or a whole SLS. */
export interface StateRef {
  /** Module (`pkg`, `file`…), or `sls` for every state of an SLS file. */
  module: string;
  /** State id or name (or the SLS ref for `sls`). */
  target: string;
}

/** One state to run: a module function with its arguments. */
export interface Chunk {
  /** The state id. */
  id: string;
  /** The SLS it came from (`webserver.config`). */
  sls: string;
  /** Module, e.g. `file`. */
  module: string;
  /** Function, e.g. `managed`. */
  fun: string;
  /** The primary argument (defaults to the id). */
  name: string;
  /** Other arguments. */
  args: Record<string, unknown>;
  /** Requisites, by kind. */
  requisites: Partial<Record<Requisite, StateRef[]>>;
  /** `order:` as given: a number, `first` or `last`. */
  order?: number | "first" | "last";
  /** Declaration order across the compiled tree, for ties. */
  index: number;
}

/** `module.function`, e.g. `file.managed`. */
export function functionName(c: Pick<Chunk, "module" | "fun">): string {
  return `${c.module}.${c.fun}`;
}

/** What one state did (or would do, in test mode). */
export interface StateResult {
  /** The state id. */
  id: string;
  /** `module.function`. */
  function: string;
  /** The primary argument. */
  name: string;
  /** true, false, or null in test mode when it would change something. */
  result: boolean | null;
  /** What happened, for people. */
  comment: string;
  /** What changed (or would). */
  changes: Record<string, unknown>;
  /** Wall time in milliseconds. */
  duration_ms: number;
  /** Position in the order the states started, from 0. */
  run_num: number;
}

/** A state tree that cannot be compiled: names the file (and line where known). */
export class StateError extends SyntaxError {
  /** The file (or SLS ref) at fault. */
  readonly file?: string;
  /** 1-based line, where known. */
  readonly line?: number;

  /** Build the error. */
  constructor(
    message: string,
    where: { file?: string; line?: number } = {},
    options?: ErrorOptions,
  ) {
    const at = where.file ? ` (${where.file}${where.line ? `:${where.line}` : ""})` : "";
    super(`${message}${at}`, options);
    this.name = "StateError";
    this.file = where.file;
    this.line = where.line;
  }
}
