/**
 * What an execution function gets to work with, and what it gives back.
 * @module
 */
import type { BasketFunction } from "../../lib/config/mod.ts";
import type { TargetType } from "../../lib/job/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import type { Broker } from "../broker/mod.ts";
import type { StateTree } from "../state/tree.ts";

/** The basket (Salt's mine) as `mine.*` functions and templates use it. */
export interface Basket {
  /** Salt's `mine.get`: entry `name` of the peels `tgt` selects, as `{peel_id: value}`. */
  get(tgt: string, name: string, tgtType?: TargetType): Promise<Record<string, unknown>>;
  /** Run every configured function now and publish what succeeds; the failures, by name. */
  update(): Promise<Record<string, string>>;
  /** Run `fn` now and publish its result; throws the function's error. */
  send(fn: BasketFunction): Promise<void>;
  /** Remove this peel's entry `name`. */
  delete(name: string): Promise<void>;
  /** Remove every entry of this peel. */
  flush(): Promise<void>;
}

/** The peel's settings as functions read them. */
export interface SettingsAccess {
  /**
   * The settings, with `inline` (Salt's `pillar=`) merged over them, and a warning to pass on
   * when they are not current (the settings source is away and a last-known-good copy is used).
   */
  get(
    inline?: Record<string, unknown>,
  ): Promise<{ settings: Record<string, unknown>; warning?: string }>;
  /** Compile them again now, as Salt's `saltutil.refresh_pillar` does. */
  refresh(): Promise<{ settings: Record<string, unknown>; warning?: string }>;
  /** `value` with every secret this peel has opened shown as `<sealed>`, for returns and logs. */
  redact<T>(value: T): T;
}

/** Everything a function may use; it has no other access to the peel. */
export interface ExecContext {
  /** This peel's id. */
  peelId: string;
  /** The job being run. */
  jid: string;
  /** The peel's current facts. */
  facts(): Record<string, unknown>;
  /** The privileged broker. */
  broker: Broker;
  /** Aborted when the job's timeout passes. */
  signal: AbortSignal;
  /** The job's timeout. */
  timeoutMs: number;
  /** Logger carrying `peel_id` and `jid`. */
  log: Logger;
  /** The state tree mirrored from the master, once synced. */
  states?: StateTree;
  /** The basket, on a peel connected to NATS. */
  basket?: Basket;
  /** The peel's scheduler, for `schedule.*`. */
  schedule?: ScheduleControl;
  /** The peel's settings; without them, functions see none. */
  settings?: SettingsAccess;
}

/** `schedule.list`: whether the schedule runs, and each entry with its state. */
export interface ScheduleListing {
  enabled: boolean;
  jobs: Record<string, Record<string, unknown>>;
}

/** What `schedule.*` may do to the peel's scheduler; nothing of it is written to disk. */
export interface ScheduleControl {
  list(): ScheduleListing;
  enable(): void;
  disable(): void;
  /** Throws when there is no entry `name`. */
  setJobEnabled(name: string, enabled: boolean): void;
  /** Run entry `name` now; its JID. Throws when it cannot run. */
  runJob(name: string, force?: boolean): string;
}

/** A function's outcome: its result, and whether it succeeded (default true). */
export interface FunctionResult {
  /** The value shown to the operator. */
  result: unknown;
  /** False when the function ran but failed (e.g. non-zero exit). */
  success?: boolean;
  /** Exit code, for functions that run commands. */
  retcode?: number;
  /** What the operator should know beside the result (settings not current…). */
  warnings?: string[];
}

/** An execution function such as `test.ping`. */
export type ExecFunction = (
  ctx: ExecContext,
  args: unknown[],
  kwargs: Record<string, unknown>,
) => Promise<FunctionResult>;

/** Arguments a function cannot use; the message names the argument and what was expected. */
export class ArgumentError extends TypeError {
  /** Build the error. */
  constructor(message: string) {
    super(message);
    this.name = "ArgumentError";
  }
}

/** The argument at `index` (or keyword `name`), required to be a string. */
export function stringArg(
  fun: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  index: number,
  name: string,
): string {
  const v = args[index] ?? kwargs[name];
  if (v === undefined) throw new ArgumentError(`${fun} needs the argument "${name}"`);
  if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
    throw new ArgumentError(`${fun}: argument "${name}" must be a string, got ${typeof v}`);
  }
  return String(v);
}
