/**
 * `zester`: the operator CLI.
 *
 * ```sh
 * zester '<target>' <module.function> [args…] [key=value…] [--timeout 30s] [--format json]
 * zester job list
 * zester job show <jid>
 * ```
 * Exit status: 0 when every target returned successfully, 1 when any failed or did not return,
 * 2 when the command could not run (bad input, no master, no matching peel).
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { NatsConnection } from "nats";
import { closeBus, connectBus } from "../lib/bus/mod.ts";
import { cliBusOptions, parseDuration } from "../lib/config/mod.ts";
import { MAX_TIMEOUT_MS, TARGET_TYPES, type TargetType } from "../lib/job/mod.ts";
import { loadCliConfig } from "./config.ts";
import { listJobs, renderJobDetail, renderJobList, showJob } from "./commands/job.ts";
import { exitCode, renderRun, runJob, summaryLine } from "./commands/run.ts";
import { type Format, FORMATS } from "./output/mod.ts";

/** A failure the CLI reports as `zester: <message>` with exit status 2. */
class UsageError extends Error {}

function timeoutOption(v: string): number {
  try {
    const ms = parseDuration(v);
    if (ms <= 0 || ms > MAX_TIMEOUT_MS) throw new TypeError("out of range");
    return ms;
  } catch {
    throw new InvalidArgumentError(`expected a duration such as 30s or 5m, up to 24h`);
  }
}

function currentUser(): string {
  return Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? "unknown";
}

async function withBus<T>(
  configPath: string | undefined,
  fn: (nc: NatsConnection) => Promise<T>,
): Promise<T> {
  const { config } = await loadCliConfig(configPath);
  let nc: NatsConnection;
  try {
    nc = await connectBus(cliBusOptions(config, Deno.env.get("HOME")));
  } catch (e) {
    throw new UsageError(
      `Cannot connect to NATS at ${config.master.urls.join(", ")}: ${(e as Error).message}`,
    );
  }
  try {
    return await fn(nc);
  } finally {
    await closeBus(nc, 5_000);
  }
}

/** Build the CLI program; `out` receives what would go to stdout. */
export function buildProgram(out: (text: string) => void, setExit: (code: number) => void) {
  const formatOption = new Option("--format <format>", "output format")
    .choices(FORMATS)
    .default("text" as Format);
  const program = new Command()
    .name("zester")
    .description("Run functions on peels and inspect jobs")
    .version("0.1.0")
    .option("-c, --config <file>", "CLI config file (default ~/.zester/config.yaml)")
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();

  program
    .argument("[target]", "target expression (a glob on peel ids by default)")
    .argument("[function]", "function to run, e.g. test.ping")
    .argument("[args...]", "arguments: positional values and key=value pairs")
    .addOption(formatOption)
    .option("-t, --timeout <duration>", "job timeout, e.g. 30s or 5m", timeoutOption)
    .addOption(
      new Option("--tgt-type <kind>", "how to read the target").choices(TARGET_TYPES).default(
        "glob" as TargetType,
      ),
    )
    .option("-L, --list", "target is a comma-separated list of peel ids")
    .option("-v, --verbose", "print the job id and timing on stderr")
    .action(async (target, fun, words, opts) => {
      if (!target || !fun) {
        program.outputHelp();
        throw new UsageError("a target and a function are required");
      }
      const started = performance.now();
      const outcome = await withBus(program.opts().config, (nc) =>
        runJob(nc, {
          tgt: target,
          tgtType: opts.list ? "list" : opts.tgtType,
          fun,
          words,
          timeoutMs: opts.timeout,
          format: opts.format,
          user: currentUser(),
        }));
      out(renderRun(outcome, opts.format));
      if (opts.verbose) console.error(summaryLine(outcome, performance.now() - started));
      setExit(exitCode(outcome));
    });

  const job = program.command("job").description("inspect jobs");
  job.command("list")
    .description("list recent jobs, newest first")
    .addOption(formatOption)
    .option("-n, --limit <n>", "how many", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        throw new InvalidArgumentError("expected a positive integer");
      }
      return n;
    }, 50)
    .action(async (opts) => {
      const jobs = await withBus(program.opts().config, (nc) => listJobs(nc, opts.limit));
      out(renderJobList(jobs, opts.format));
    });
  job.command("show")
    .description("show a job record and its returns")
    .argument("<jid>", "job id")
    .addOption(formatOption)
    .action(async (jid, opts) => {
      const detail = await withBus(program.opts().config, (nc) => showJob(nc, jid));
      out(renderJobDetail(detail, opts.format));
      if (detail.job.status !== "complete") setExit(1);
    });
  return program;
}

/** Run the CLI with `args`; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((t) => console.log(t), (c) => code = c);
  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith("commander.")) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
      return 2;
    }
    console.error(`zester: ${err.message}`);
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
