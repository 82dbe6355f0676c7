/**
 * The command lines of `zester-master` and `zester-peel`: `--config <file>`, and one flag per
 * scalar or list key of the daemon's config (`nats_url` → `--nats-url`, `reactor.workers` →
 * `--reactor-workers`), which overrides the file's value and passes the same schema. Launchers
 * derive a daemon's permission grants from this same merged config (flags over file), so a flag
 * that moves a path or URL moves its grant with it.
 * @module
 */
import { parse as parseYaml } from "yaml";
import type * as s from "../schema/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type ConfigOptions, loadConfig, type Override, type PlannedNotice } from "./load.ts";
import { MASTER_CONFIG_PATH, MasterConfig } from "./master.ts";
import { PEEL_CONFIG_PATH, PeelConfig } from "./peel.ts";
import { type PlannedKey, plannedKeys } from "./planned.ts";

/** A command line a daemon refuses: an unknown flag, a missing value, a stray argument. */
export class FlagError extends TypeError {
  /** Build the error. */
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

/** One daemon flag: the config key it sets and the schema its value must pass. */
export interface FlagSpec {
  /** `--nats-url`. */
  readonly flag: string;
  /** Dotted config key. */
  readonly key: string;
  /** The key's schema. */
  readonly schema: s.Schema<unknown>;
}

/** A daemon: its name, config schema, planned keys and default config path. */
export interface DaemonSpec<T> {
  /** Program name, for usage lines. */
  readonly name: string;
  /** The daemon's config schema. */
  readonly schema: s.Schema<T>;
  /** Documented keys it accepts before their feature is built. */
  readonly planned: readonly PlannedKey[];
  /** Where its config is when `--config` is not given. */
  readonly defaultPath: string;
}

/** `zester-master`. */
export const MASTER_DAEMON: DaemonSpec<MasterConfig> = {
  name: "zester-master",
  schema: MasterConfig,
  planned: plannedKeys("master"),
  defaultPath: MASTER_CONFIG_PATH,
};

/** `zester-peel`. */
export const PEEL_DAEMON: DaemonSpec<PeelConfig> = {
  name: "zester-peel",
  schema: PeelConfig,
  planned: plannedKeys("peel"),
  defaultPath: PEEL_CONFIG_PATH,
};

/** The schema inside `optional()`. */
export function unwrap(schema: s.Schema<unknown>): s.Schema<unknown> {
  return schema.inner ? unwrap(schema.inner) : schema;
}

/**
 * True when a key's value can be given as one flag: not a map, nor a list of maps, nor a
 * section checked apart (`schedule`).
 */
function takesFlag(schema: s.Schema<unknown>): boolean {
  const inner = unwrap(schema);
  return !inner.shape && !["a map", "anything"].includes(inner.expected) &&
    !inner.expected.startsWith("a list of map");
}

/** The flag of config key `key`: `--` and the key with `-` for `_` and `.`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[._]/g, "-")}`;
}

/**
 * Sections whose scalar keys take flags too (`--enroll-addr`, as the product documents them).
 * The broker's policy never does: the broker reads it from the root-owned file alone.
 */
const FLAG_SECTIONS = new Set(["enroll"]);

/** The flags of the keys of `shape`, under `prefix`, and of the sections that take flags. */
function builtFlags(shape: Readonly<Record<string, s.Schema<unknown>>>, prefix = ""): FlagSpec[] {
  return Object.entries(shape).flatMap(([name, schema]) => {
    const key = prefix + name;
    const section = unwrap(schema).shape;
    if (section && FLAG_SECTIONS.has(key)) return builtFlags(section, `${key}.`);
    return takesFlag(schema) ? [{ flag: flagOf(key), key, schema }] : [];
  });
}

/** Every flag of `spec`'s daemon besides `--config` and `--help`. */
export function daemonFlags(spec: DaemonSpec<unknown>): FlagSpec[] {
  const built = builtFlags(spec.schema.shape ?? {});
  const planned = spec.planned
    .filter((p) => p.flag !== null && takesFlag(p.schema))
    .map((p) => ({ flag: p.flag ?? flagOf(p.key), key: p.key, schema: p.schema }));
  return [...built, ...planned];
}

/** The one-line usage printed after a bad command line. */
export function usageLine(spec: DaemonSpec<unknown>): string {
  return `Usage: ${spec.name} [--config FILE] [--<key> VALUE]...  (--help for more)`;
}

/** `--help`: every flag and what its value must be. */
export function daemonHelp(spec: DaemonSpec<unknown>): string {
  const rows: [string, string][] = [
    ["-c, --config <file>", `config file (default ${spec.defaultPath})`],
    ...daemonFlags(spec).map((f): [string, string] => [
      `${f.flag} <value>`,
      unwrap(f.schema).expected,
    ]),
    ["-h, --help", "print this help"],
  ];
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [
    `Usage: ${spec.name} [options]`,
    "",
    "Each flag overrides the config key of the same name (docs/configuration.md).",
    "",
    ...rows.map(([f, what]) => `  ${f.padEnd(width)}${what}`),
  ].join("\n");
}

/** A parsed daemon command line. */
export interface DaemonArgs {
  /** `--help` was given. */
  readonly help: boolean;
  /** The config file. */
  readonly configPath: string;
  /** Flag values over the file's. */
  readonly overrides: Override[];
}

/**
 * The value of `flag` as its schema takes it: the text itself, else the text read as YAML
 * (`3`, `true`, `[a, b]`), else a comma-separated list. When none passes, the text, for the
 * schema to refuse naming the flag.
 */
function flagValue(spec: FlagSpec, text: string): unknown {
  const candidates: (() => unknown)[] = [
    () => text,
    () => parseYaml(text),
    () => text.split(",").map((v) => v.trim()),
  ];
  for (const candidate of candidates) {
    try {
      const v = candidate();
      spec.schema.parse(v, spec.key);
      return v;
    } catch { /* try the next reading */ }
  }
  return text;
}

function accepts(schema: s.Schema<unknown>, value: unknown): boolean {
  try {
    schema.parse(value);
    return true;
  } catch {
    return false;
  }
}

/** Parse a daemon's `args`; throws {@linkcode FlagError} for an unknown flag or a stray word. */
export function parseDaemonArgs(spec: DaemonSpec<unknown>, args: readonly string[]): DaemonArgs {
  const flags = new Map(daemonFlags(spec).map((f) => [f.flag, f]));
  let help = false;
  let configPath: string | undefined;
  const overrides: Override[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-")) throw new FlagError(`Unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const next = args[i + 1];
    const takeValue = (): string | undefined => {
      if (eq > 0) return arg.slice(eq + 1);
      if (next === undefined || next.startsWith("-")) return undefined;
      i++;
      return next;
    };
    if (name === "--config" || name === "-c") {
      if (configPath !== undefined) throw new FlagError(`Flag --config given twice`);
      configPath = takeValue();
      if (!configPath) throw new FlagError(`Missing value for flag --config: expected a file`);
      continue;
    }
    const f = flags.get(name);
    if (!f) throw new FlagError(`Unknown flag "${name}"`);
    if (overrides.some((o) => o.flag === f.flag)) {
      throw new FlagError(`Flag ${f.flag} given twice`);
    }
    const text = takeValue();
    let value: unknown;
    if (text !== undefined) value = flagValue(f, text);
    else if (accepts(f.schema, true)) value = true;
    else {
      throw new FlagError(
        `Missing value for flag ${f.flag}: expected ${unwrap(f.schema).expected}`,
      );
    }
    overrides.push({ key: f.key, value, flag: f.flag });
  }
  return { help, configPath: configPath ?? spec.defaultPath, overrides };
}

/** A daemon's config as its command line and file give it. */
export interface DaemonConfig<T> {
  /** The validated config, flags over file. */
  readonly config: T;
  /** The config file read. */
  readonly configPath: string;
  /** Planned keys that were given (to log as warnings). */
  readonly planned: PlannedNotice[];
}

/**
 * Read the config of `spec`'s daemon as `args` say: the file `--config` names (or the default),
 * with each flag over the file's value, planned keys noted, and everything validated. Launchers
 * call this to derive the daemon's grants; the daemon calls it to run.
 */
export async function loadDaemonConfig<T>(
  spec: DaemonSpec<T>,
  args: DaemonArgs,
): Promise<DaemonConfig<T>> {
  const planned: PlannedNotice[] = [];
  const opts: ConfigOptions = {
    planned: spec.planned,
    overrides: args.overrides,
    onPlanned: (n) => planned.push(n),
  };
  const config = await loadConfig(args.configPath, spec.schema, opts);
  return { config, configPath: args.configPath, planned };
}

/**
 * What a daemon's `main` does with its command line: the config to run with, or the exit status
 * after `--help` (0, help on stdout), a bad command line (2, the error and the usage line on
 * stderr) or a bad config (2, the error through `report`, the daemon's log).
 */
export async function daemonConfig<T>(
  spec: DaemonSpec<T>,
  argv: readonly string[],
  report: (line: string) => void,
): Promise<DaemonConfig<T> | { exit: number }> {
  let args: DaemonArgs;
  try {
    args = parseDaemonArgs(spec, argv);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    console.error(`${spec.name}: ${e.message}\n${usageLine(spec)}`);
    return { exit: 2 };
  }
  if (args.help) {
    console.log(daemonHelp(spec));
    return { exit: 0 };
  }
  try {
    return await loadDaemonConfig(spec, args);
  } catch (e) {
    report((e as Error).message);
    return { exit: 2 };
  }
}

/** Log a warning for each planned key given: accepted, but its feature is not built yet. */
export function logPlanned(log: Logger, planned: readonly PlannedNotice[]): void {
  for (const n of planned) {
    log.warn(`config key "${n.key}" is not used yet: it waits for ${n.waitsFor}`, {
      key: n.key,
      source: n.source,
    });
  }
}
