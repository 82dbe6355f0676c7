/**
 * Schedule entries as operators write them under `schedule:` (in `peel.yaml`, and from settings),
 * in Salt's words and the product's: `function` (or `module`), `args` (a list, or a map of
 * keyword arguments) or `job_args`, `kwargs` or `job_kwargs`, an interval (`seconds`,
 * `minutes`, `hours`, `days`, added up as Salt does, or `interval: 1h30m`) or a 5-field
 * `cron`, `splay` (seconds, a duration, or `{start, end}`), `maxrunning` (1), `run_on_start`
 * (false), `return_job` (false), `enabled` (true), `jid_include` (true), `after` and `until`
 * (times), and `timeout` (the job timeouts a master gives by default). Each entry is checked on
 * its own, so one bad entry is reported, naming the file and field, and the others still run.
 * @module
 */
import * as s from "../schema/mod.ts";
import { ConfigError } from "../config/load.ts";
import { DEFAULT_JOB_TIMEOUTS } from "../config/master.ts";
import { duration } from "../config/nats.ts";
import { checkArguments, MAX_TIMEOUT_MS } from "../job/mod.ts";
import { type CronSchedule, parseCron } from "./cron.ts";

/** A scheduled job's timeout when its entry names none: a master's default job timeout. */
const DEFAULT_TIMEOUT_MS = 60_000;

/** One checked schedule entry. */
export interface ScheduleEntry {
  /** Its key under `schedule:`. */
  name: string;
  /** The execution function it runs, as a job would (`state.highstate`). */
  fun: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** Milliseconds between runs; absent for a cron entry. */
  intervalMs?: number;
  /** When to run; absent for an interval entry. */
  cron?: CronSchedule;
  /** A random delay in `[startMs, endMs)` added to each run. */
  splay: { startMs: number; endMs: number };
  /** A run is skipped while this many of the entry's runs are under way. */
  maxrunning: number;
  /** Run once when the scheduler starts, then on schedule. */
  runOnStart: boolean;
  /** Report each run as a job: a record and a return in the job stores. */
  returnJob: boolean;
  /** False: loaded, but does not run until enabled. */
  enabled: boolean;
  /** Whether runs count towards `maxrunning` (Salt keeps them in its proc dir). */
  jidInclude: boolean;
  /** Runs before this time (ms since the epoch) are skipped. */
  after?: number;
  /** Runs after this time are skipped. */
  until?: number;
  timeoutMs: number;
}

/** Where entries come from: a file (or settings source) and its `schedule:` value. */
export interface ScheduleSource {
  /** Named in errors, with the field. */
  file: string;
  /** The value of its `schedule:` key: a map of entry names to entries. */
  schedule: unknown;
}

const seconds = s.number({ min: 0 });
const time = s.transform(
  s.union(
    s.string(),
    s.transform(s.unknown(), (v, path) => {
      if (v instanceof Date) return v.toISOString();
      throw new s.SchemaError(path, "a time", v);
    }),
  ),
  (v, path) => {
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new s.SchemaError(path, "a time such as 2030-01-01T00:00:00Z", v);
    return t;
  },
  "a time such as 2030-01-01T00:00:00Z",
);
const splay = s.union(
  s.transform(duration(), (ms) => ({ startMs: 0, endMs: ms })),
  s.transform(
    s.object({ start: duration(), end: duration() }),
    (v, path) => {
      if (v.end < v.start) {
        throw new s.SchemaError(`${path}.end`, "a duration not below start", v.end / 1000);
      }
      return { startMs: v.start, endMs: v.end };
    },
  ),
);
const fun = s.string({
  pattern: /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/,
  expected: "a function name such as state.highstate",
});

const Entry = s.object({
  function: s.optional(fun),
  module: s.optional(fun),
  args: s.optional(s.union(s.array(s.unknown()), s.record(s.unknown()))),
  job_args: s.optional(s.array(s.unknown())),
  kwargs: s.optional(s.record(s.unknown())),
  job_kwargs: s.optional(s.record(s.unknown())),
  seconds: s.optional(seconds),
  minutes: s.optional(seconds),
  hours: s.optional(seconds),
  days: s.optional(seconds),
  interval: s.optional(duration()),
  cron: s.optional(s.string()),
  splay: s.optional(splay),
  maxrunning: s.optional(s.int({ min: 1 }), 1),
  run_on_start: s.optional(s.boolean(), false),
  return_job: s.optional(s.boolean(), false),
  enabled: s.optional(s.boolean(), true),
  jid_include: s.optional(s.boolean(), true),
  after: s.optional(time),
  until: s.optional(time),
  timeout: s.optional(duration()),
});

/**
 * Check the entries of `sources`, later sources winning on a name they share (settings over
 * `peel.yaml`). `isFunction` says whether this peel has a function. Bad entries are left out
 * and returned as errors, each naming its file and field.
 */
export function parseSchedule(
  sources: readonly ScheduleSource[],
  isFunction: (fun: string) => boolean,
): { entries: Map<string, ScheduleEntry>; errors: ConfigError[] } {
  const entries = new Map<string, ScheduleEntry>();
  const errors: ConfigError[] = [];
  for (const { file, schedule } of sources) {
    if (schedule === undefined || schedule === null) continue;
    if (!s.isPlainObject(schedule)) {
      errors.push(configError(file, new s.SchemaError("schedule", "a map of entries", schedule)));
      continue;
    }
    for (const [name, raw] of Object.entries(schedule)) {
      try {
        entries.set(name, parseEntry(name, raw, isFunction));
      } catch (e) {
        if (!(e instanceof s.SchemaError || e instanceof FieldError)) throw e;
        entries.delete(name);
        errors.push(configError(file, e));
      }
    }
  }
  return { entries, errors };
}

/** A field whose value has the right shape but cannot be used; the message says why. */
class FieldError extends TypeError {
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FieldError";
    this.path = path;
  }
}

function configError(file: string, e: s.SchemaError | FieldError): ConfigError {
  const why = e instanceof FieldError
    ? `field "${e.path}": ${e.message}`
    : e.message.replace(/^Invalid /, "");
  return new ConfigError(`Invalid config "${file}": ${why}`, file, { field: e.path }, {
    cause: e,
  });
}

function parseEntry(
  name: string,
  raw: unknown,
  isFunction: (fun: string) => boolean,
): ScheduleEntry {
  const at = `schedule.${name}`;
  const e = Entry.parse(raw, at);
  const fn = e.function ?? e.module;
  if (fn === undefined) throw new s.SchemaError(`${at}.function`, fun.expected, undefined);
  if (!isFunction(fn)) {
    throw new FieldError(
      `${at}.${e.function ? "function" : "module"}`,
      `"${fn}" is not a function of this peel`,
    );
  }
  const positional = Array.isArray(e.args) ? e.args : e.job_args ?? [];
  const kwargs = { ...(Array.isArray(e.args) ? {} : e.args), ...e.job_kwargs, ...e.kwargs };
  try {
    checkArguments(fn, positional, kwargs);
  } catch (err) {
    throw new FieldError(`${at}.args`, (err as Error).message, { cause: err });
  }
  const parts = [e.seconds, e.minutes, e.hours, e.days];
  const salt = parts.some((p) => p !== undefined)
    ? 1000 * [1, 60, 3600, 86_400].reduce((sum, unit, i) => sum + (parts[i] ?? 0) * unit, 0)
    : undefined;
  const intervalMs = e.interval ?? salt;
  if (e.interval !== undefined && salt !== undefined) {
    throw new FieldError(`${at}.interval`, "interval and seconds/minutes/hours/days are exclusive");
  }
  if (intervalMs !== undefined && e.cron !== undefined) {
    throw new FieldError(`${at}.cron`, "an entry has an interval or a cron expression, not both");
  }
  if (intervalMs === undefined && e.cron === undefined) {
    throw new FieldError(
      at,
      "needs an interval (seconds, minutes, hours, days or interval) or a cron expression",
    );
  }
  if (intervalMs !== undefined && intervalMs < 1000) {
    throw new FieldError(
      `${at}.${e.interval === undefined ? "seconds" : "interval"}`,
      `the interval must be at least one second, got ${intervalMs / 1000}`,
    );
  }
  let cron: CronSchedule | undefined;
  if (e.cron !== undefined) {
    try {
      cron = parseCron(e.cron);
    } catch (err) {
      throw new FieldError(`${at}.cron`, (err as Error).message, { cause: err });
    }
  }
  const timeoutMs = e.timeout ?? DEFAULT_JOB_TIMEOUTS[fn] ?? DEFAULT_TIMEOUT_MS;
  if (timeoutMs < 1000 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new FieldError(`${at}.timeout`, `expected 1s to 24h, got ${timeoutMs / 1000}s`);
  }
  return {
    name,
    fun: fn,
    args: positional,
    kwargs,
    ...(intervalMs === undefined ? {} : { intervalMs }),
    ...(cron ? { cron } : {}),
    splay: e.splay ?? { startMs: 0, endMs: 0 },
    maxrunning: e.maxrunning,
    runOnStart: e.run_on_start,
    returnJob: e.return_job,
    enabled: e.enabled,
    jidInclude: e.jid_include,
    ...(e.after === undefined ? {} : { after: e.after }),
    ...(e.until === undefined ? {} : { until: e.until }),
    timeoutMs,
  };
}
