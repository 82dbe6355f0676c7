/**
 * Running a plan as Salt does: one state at a time in plan order, except that a state with
 * `parallel: True` starts and the run goes on without waiting for it (a state that requires it
 * waits, and so does the end of the run). Each state runs after its requisites are checked
 * (`require`/`watch` need success, `onchanges` changes, `onfail` a failure; `prereq` runs the
 * named state's test first and goes ahead only if it would change; a fired `watch` adds the
 * module's reaction, e.g. a restart, and `listen` adds it once at the end of the run), its guards
 * (`onlyif`, `unless`, `creates`) run, with `retry`; a failure with `failhard` skips every state
 * not yet started.
 * In test mode nothing changes: modules report what they would do, `result: null` where they
 * would change something; guards still run.
 * @module
 */
import type { Plan } from "./plan.ts";
import { type Chunk, functionName, type StateResult } from "./types.ts";

/** What a state function returns. */
export interface Outcome {
  result: boolean | null;
  comment: string;
  changes: Record<string, unknown>;
}

/** What a state function gets besides its chunk. */
export interface StateContext {
  /** Dry run: decide and report, change nothing. */
  test: boolean;
}

/** A state function such as `file.managed`. */
export type StateFunction = (chunk: Chunk, ctx: StateContext) => Promise<Outcome>;

/** What the runner needs from its host (the peel, or `zester call --local`). */
export interface RunHost {
  /** The state function for `module.function`, if there is one. */
  fn(name: string): StateFunction | undefined;
  /** The reaction of `chunk` to a `watch` that fired (e.g. a restart), if its module has one. */
  watchFn?(chunk: Chunk): StateFunction | undefined;
  /** Run a guard command; resolves to its exit code. */
  guard(cmd: string): Promise<number>;
  /**
   * Run a guard given in Salt's function form (`unless: [{fun: file.file_exists, path: /x}]`);
   * resolves to the function's truth value.
   */
  check?(fun: string, args: Record<string, unknown>): Promise<boolean>;
  /** Whether a path exists (for `creates`). */
  exists(path: string): Promise<boolean>;
}

/** Options of {@linkcode runPlan}. */
export interface RunOptions {
  test: boolean;
  host: RunHost;
}

const hasChanges = (o: { changes: Record<string, unknown> }) => Object.keys(o.changes).length > 0;

function list(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function toResult(c: Chunk, fn: string, o: Outcome, t0: number, num: number): StateResult {
  return {
    id: c.id,
    function: fn,
    name: c.name,
    result: o.result,
    comment: o.comment,
    changes: o.changes,
    duration_ms: Math.round((performance.now() - t0) * 1000) / 1000,
    run_num: num,
  };
}

/** Run `plan`; resolves to one result per state, in the order they started. */
export async function runPlan(plan: Plan, opts: RunOptions): Promise<StateResult[]> {
  const results: (StateResult | undefined)[] = [];
  let runNum = 0;
  let abort: string | undefined;
  const started: StateResult[] = [];

  const finish = (i: number, c: Chunk, o: Outcome, t0: number, num: number): void => {
    results[i] = started[num] = toResult(c, functionName(c), o, t0, num);
  };

  const call = async (c: Chunk, test: boolean): Promise<Outcome> => {
    const fn = opts.host.fn(functionName(c));
    if (!fn) {
      return {
        result: false,
        comment: `State function "${functionName(c)}" is not available`,
        changes: {},
      };
    }
    try {
      return await fn(c, { test });
    } catch (e) {
      return { result: false, comment: (e as Error).message, changes: {} };
    }
  };

  /** Whether a guard holds: a command exits 0, a `fun:` guard returns something true. */
  const holds = async (g: unknown): Promise<boolean> => {
    if (g && typeof g === "object" && !Array.isArray(g)) {
      const { fun, ...args } = g as Record<string, unknown>;
      if (typeof fun !== "string") throw new TypeError("A guard given as a map needs fun:");
      if (!opts.host.check) throw new Error(`Guard function "${fun}" is not available here`);
      return await opts.host.check(fun, args);
    }
    return await opts.host.guard(String(g)) === 0;
  };
  const describe = (g: unknown) => typeof g === "object" ? JSON.stringify(g) : String(g);

  const guards = async (c: Chunk): Promise<string | undefined> => {
    for (const g of list(c.args.onlyif)) {
      if (!await holds(g)) return `onlyif condition is false: ${describe(g)}`;
    }
    for (const g of list(c.args.unless)) {
      if (await holds(g)) return `unless condition is true: ${describe(g)}`;
    }
    for (const path of list(c.args.creates).map(String)) {
      if (await opts.host.exists(path)) return `${path} exists`;
    }
    return undefined;
  };

  const one = async (i: number): Promise<void> => {
    const c = plan.chunks[i]!;
    const d = plan.deps[i]!;
    const num = runNum++;
    const t0 = performance.now();
    const done = (o: Outcome) => finish(i, c, o, t0, num);
    if (abort) {
      return done({
        result: false,
        comment: `Skipped: ${abort} failed with failhard`,
        changes: {},
      });
    }
    const of = (ids: number[] | undefined) =>
      (ids ?? []).map((j) => [plan.chunks[j]!, results[j]!] as const);
    const failed = [...of(d.require), ...of(d.watch)].filter(([, r]) => r.result === false);
    if (failed.length) {
      return done({
        result: false,
        comment: `One or more requisite failed: ${
          failed.map(([x]) => `${x.sls}.${x.id}`).join(", ")
        }`,
        changes: {},
      });
    }
    if (d.onchanges && !of(d.onchanges).some(([, r]) => r.result !== false && hasChanges(r))) {
      return done({
        result: true,
        comment: "State was not run because none of the onchanges reqs changed",
        changes: {},
      });
    }
    if (d.onfail && !of(d.onfail).some(([, r]) => r.result === false)) {
      return done({
        result: true,
        comment: "State was not run because onfail req did not change",
        changes: {},
      });
    }
    let skip: string | undefined;
    try {
      skip = await guards(c);
    } catch (e) {
      return done({ result: false, comment: (e as Error).message, changes: {} });
    }
    if (skip) return done({ result: true, comment: `Skipped: ${skip}`, changes: {} });
    if (d.prereq && !opts.test) {
      let wouldChange = false;
      for (const j of d.prereq) {
        const o = await call(plan.chunks[j]!, true);
        if (o.result === null || hasChanges(o)) wouldChange = true;
      }
      if (!wouldChange) return done({ result: true, comment: "No changes detected", changes: {} });
    }
    const retry = c.args.retry as { attempts?: number; interval?: number } | number | undefined;
    const attempts = opts.test ? 1 : typeof retry === "number" ? retry : retry?.attempts ?? 1;
    const interval = (typeof retry === "object" ? retry?.interval ?? 10 : 10) * 1000;
    let o = await call(c, opts.test);
    for (let a = 1; a < attempts && o.result === false; a++) {
      await new Promise((r) => setTimeout(r, interval));
      o = await call(c, opts.test);
    }
    const fired = of(d.watch).some(([, r]) => r.result !== false && hasChanges(r));
    const react = fired && o.result !== false ? opts.host.watchFn?.(c) : undefined;
    if (react) {
      const w = await react(c, { test: opts.test }).catch((e) => ({
        result: false,
        comment: (e as Error).message,
        changes: {},
      }));
      o = {
        result: w.result === false ? false : o.result === null || w.result === null ? null : true,
        comment: [o.comment, w.comment].filter(Boolean).join("; "),
        changes: { ...o.changes, ...w.changes },
      };
    }
    if (o.result === false && c.args.failhard === true) abort = `${c.sls}.${c.id}`;
    done(o);
  };

  const finished: Promise<void>[] = [];
  const background: Promise<void>[] = [];
  for (const i of plan.order) {
    const p = Promise.all(plan.before[i]!.map((j) => finished[j])).then(() => one(i));
    finished[i] = p;
    if (plan.chunks[i]!.args.parallel === true) background.push(p);
    else await p;
  }
  await Promise.all(background);
  // `listen`: once everything has run, the reaction of each listener whose targets changed
  // (a restart, say) runs once, as its own result.
  for (let i = 0; i < plan.chunks.length; i++) {
    const c = plan.chunks[i]!;
    const targets = plan.deps[i]!.listen;
    if (!targets || results[i]?.result === false) continue;
    if (
      !targets.some((j) => results[j] && results[j]!.result !== false && hasChanges(results[j]!))
    ) continue;
    const react = opts.host.watchFn?.(c);
    if (!react) continue;
    const num = runNum++;
    const t0 = performance.now();
    const o = await react(c, { test: opts.test }).catch((e) => ({
      result: false,
      comment: (e as Error).message,
      changes: {},
    }));
    started[num] = toResult(c, `${c.module}.mod_watch`, o, t0, num);
  }
  return started;
}

/** Counts over a run, as Salt's highstate summary gives them. */
export interface Summary {
  succeeded: number;
  changed: number;
  failed: number;
  total: number;
  duration_ms: number;
}

/** Summarize `results`. */
export function summarize(results: StateResult[]): Summary {
  return {
    succeeded: results.filter((r) => r.result !== false).length,
    changed: results.filter((r) => hasChanges(r)).length,
    failed: results.filter((r) => r.result === false).length,
    total: results.length,
    duration_ms: Math.round(results.reduce((s, r) => s + r.duration_ms, 0) * 1000) / 1000,
  };
}
