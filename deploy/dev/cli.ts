/**
 * Running the real `zester` CLI as a subprocess, as operators run it: for the quickstart, the
 * tests and the benchmarks.
 * @module
 */
import { stringify } from "yaml";
import {
  CliConfig,
  cliPermissionFlags,
  parseConfig,
  PEEL_CONFIG_PATH,
  V8_FLAGS,
} from "../../lib/config/mod.ts";
import { DENO_CONFIG, writeDevLauncher } from "./fleet.ts";
import { type DevUser, natsFiles } from "./trust.ts";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;

/** What a CLI run printed and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The arguments of `zester call --local <args>` as a checkout runs it: a launcher script for the
 * `--policy` in `args` (the installed policy path when none is named) written into `dir`, and the
 * CLI's own permission flags with that launcher as the one program it may run — the same walls
 * as the installed CLI, whose launcher is the compiled broker.
 */
export async function callCommand(dir: string, args: string[]): Promise<string[]> {
  const i = args.indexOf("--policy");
  const policy = i >= 0 && args[i + 1] ? args[i + 1]! : PEEL_CONFIG_PATH;
  const launcher = await writeDevLauncher(`${dir}/zester-broker`, policy);
  const flags = cliPermissionFlags(CliConfig.parse({}), launcher);
  return [
    "run",
    "--config",
    DENO_CONFIG,
    V8_FLAGS,
    ...flags,
    CLI,
    "call",
    "--local",
    "--launcher",
    launcher,
  ]
    .concat(args);
}

/** Run `zester call --local <args>` from this checkout with the CLI's walls (see {@linkcode callCommand}). */
export async function runCall(args: string[]): Promise<CliRun> {
  const dir = await Deno.makeTempDir({ prefix: "zester-call-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: await callCommand(dir, args),
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Write a CLI config for `natsUrl` at `path`, with the creds and certificate of `user` (the
 * admin by default) when it is a secured development server; returns the CLI's permission
 * flags for it.
 */
export async function writeCliConfig(
  path: string,
  natsUrl: string,
  user: DevUser = "admin",
): Promise<string[]> {
  const f = natsFiles(natsUrl, user);
  const raw = stringify({
    master: {
      urls: [natsUrl],
      ...f && {
        creds_file: f.nats_creds,
        ca_file: f.nats_ca,
        cert_file: f.nats_cert,
        key_file: f.nats_key,
      },
    },
  });
  await Deno.writeTextFile(path, raw);
  return cliPermissionFlags(parseConfig(raw, path, CliConfig));
}

/**
 * Run `zester <args>` with `flags` (the CLI's permission flags) and `V8_FLAGS`; `input`, when
 * given, is its stdin.
 */
export async function runZester(flags: string[], args: string[], input?: string): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", DENO_CONFIG, V8_FLAGS, ...flags, CLI, ...args],
    env: { NO_COLOR: "1" },
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const out = await child.output();
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
