/**
 * Running the real `zester` CLI as a subprocess, as operators run it: for the quickstart, the
 * tests and the benchmarks.
 * @module
 */
import { stringify } from "yaml";
import { CliConfig, cliPermissionFlags, parseConfig, V8_FLAGS } from "../../lib/config/mod.ts";
import { DENO_CONFIG } from "./fleet.ts";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;

/** What a CLI run printed and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Deno flags for `zester call --local`: reads, running Deno for the broker, the environment. */
export function callFlags(): string[] {
  return ["--no-prompt", "--allow-read", `--allow-run=${Deno.execPath()}`, "--allow-env"];
}

/** Write a CLI config for `natsUrl` at `path`; returns the CLI's permission flags for it. */
export async function writeCliConfig(path: string, natsUrl: string): Promise<string[]> {
  const raw = stringify({ master: { urls: [natsUrl] } });
  await Deno.writeTextFile(path, raw);
  return cliPermissionFlags(parseConfig(raw, path, CliConfig), path);
}

/** Run `zester <args>` with `flags` (the CLI's permission flags) and `V8_FLAGS`. */
export async function runZester(flags: string[], args: string[]): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", DENO_CONFIG, V8_FLAGS, ...flags, CLI, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Run `zester --config <cfgPath> <args>` against `natsUrl` (writing the config first). */
export async function zesterAt(
  cfgPath: string,
  natsUrl: string,
  ...args: string[]
): Promise<CliRun> {
  return await runZester(await writeCliConfig(cfgPath, natsUrl), ["--config", cfgPath, ...args]);
}
