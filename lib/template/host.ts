/**
 * What templates may ask of the process that renders them: commands, host files and basket
 * entries (`salt['cmd.run']`, `salt['file.file_exists']`, `salt['mine.get']`…), as host calls the
 * template worker posts. {@linkcode runCall} checks each call's arguments (they come from the
 * worker) before the run's {@linkcode TemplateHost} runs it.
 * @module
 */
import { TARGET_TYPES, type TargetType } from "../job/types.ts";
import * as s from "../schema/mod.ts";
import type { HostCall } from "./protocol.ts";

/** A command's outcome, as host calls report it. */
export interface CommandResult {
  retcode: number;
  stdout: string;
  stderr: string;
}

/** Options of a command run for a template (Salt's `cmd.run` arguments). */
export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string;
  /** Seconds. */
  timeout?: number;
  runas?: string;
}

/** What the host does for templates, each under the broker's policy. */
export interface TemplateHost {
  /** Run `cmd` with `/bin/sh -c`. */
  run(cmd: string, opts: CommandOptions): Promise<CommandResult>;
  /** Whether `path` exists, and as what (`file`, `directory`, `symlink`…). */
  stat(path: string): Promise<{ exists: boolean; type?: string }>;
  /** The text of file `path`. */
  read(path: string): Promise<string>;
  /**
   * Salt's `mine.get`: basket entry `name` of the peels `tgt` (a `tgtType` expression) selects,
   * as `{peel_id: value}`. Without it, every lookup is empty, as Salt's is without a master.
   */
  basket?(tgt: string, name: string, tgtType: TargetType): Promise<Record<string, unknown>>;
}

const Path = s.string({ pattern: /^\/[^\0]*$/, expected: "an absolute path" });
const Command = s.string({ pattern: /^[^\0]+$/, expected: "a command" });
const Options = s.object({
  cwd: s.optional(Path),
  env: s.optional(s.record(s.string())),
  stdin: s.optional(s.string()),
  timeout: s.optional(s.number({ min: 0 })),
  runas: s.optional(s.string({ pattern: /^[a-z_][a-z0-9_-]*$/, expected: "a user name" })),
});

const BasketTarget = s.string({ minLength: 1, maxLength: 65536 });
const BasketName = s.string({ minLength: 1, maxLength: 256 });
const BasketTargetType = s.literal(...TARGET_TYPES);

/**
 * Check a host call's arguments and run it on `host`. Without a host, basket lookups are empty
 * and everything else fails.
 */
export async function runCall(
  host: TemplateHost | undefined,
  fn: HostCall,
  args: unknown[],
): Promise<unknown> {
  if (fn === "basket.get") {
    return await host?.basket?.(
      BasketTarget.parse(args[0], "tgt"),
      BasketName.parse(args[1], "fun"),
      BasketTargetType.parse(args[2], "tgt_type"),
    ) ?? {};
  }
  if (!host) throw new Error("commands and host files are not available here");
  switch (fn) {
    case "cmd.run_all":
      return await host.run(Command.parse(args[0], "cmd"), Options.parse(args[1] ?? {}, "options"));
    case "file.stat":
      return await host.stat(Path.parse(args[0], "path"));
    case "file.read":
      return await host.read(Path.parse(args[0], "path"));
  }
}
