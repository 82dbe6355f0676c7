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
import { cliBusOptions, parseDuration, PEEL_CONFIG_PATH } from "../lib/config/mod.ts";
import { MAX_TIMEOUT_MS, type TargetType } from "../lib/job/mod.ts";
import { loadCliConfig } from "./config.ts";
import { listJobs, renderJobDetail, renderJobList, showJob } from "./commands/job.ts";
import { exitCode, renderRun, runJob, summaryLine } from "./commands/run.ts";
import { previewTarget, renderPreview } from "./commands/preview.ts";
import { callLocal, renderStates } from "./commands/call.ts";
import { DEFAULT_HOSTS, initDeployment, renderInit } from "./commands/init.ts";
import { type Format, FORMATS, serialize } from "./output/mod.ts";

/** The `tgt_type` chosen by Salt's single-matcher flags, or undefined to detect it. */
function targetType(opts: {
  pcre?: boolean;
  list?: boolean;
  grain?: boolean;
  grainPcre?: boolean;
  pillar?: boolean;
  ipcidr?: boolean;
  nodegroup?: boolean;
  compound?: boolean;
}): TargetType | undefined {
  const chosen: [boolean | undefined, TargetType][] = [
    [opts.pcre, "pcre"],
    [opts.list, "list"],
    [opts.grain, "grain"],
    [opts.grainPcre, "grain_pcre"],
    [opts.pillar, "pillar"],
    [opts.ipcidr, "ipcidr"],
    [opts.nodegroup, "nodegroup"],
    [opts.compound, "compound"],
  ];
  const set = chosen.filter(([on]) => on).map(([, kind]) => kind);
  if (set.length > 1) throw new UsageError(`choose one target type, not ${set.join(" and ")}`);
  return set[0];
}

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
    nc = await connectBus({
      ...cliBusOptions(config, Deno.env.get("HOME")),
      connectTimeoutMs: 5_000,
    });
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
    .option("-E, --pcre", "target is a regex on peel ids")
    .option("-L, --list", "target is a comma-separated list of peel ids")
    .option("-G, --grain", "target is a fact glob, key:value")
    .option("-P, --grain-pcre", "target is a fact regex, key:regex")
    .option("-I, --pillar", "target is a settings glob, key:value")
    .option("-S, --ipcidr", "target is an address or network")
    .option("-N, --nodegroup", "target is a nodegroup name")
    .option("-C, --compound", "target is a compound expression")
    .option("--preview", "print the peels the target matches and run nothing")
    .option("-v, --verbose", "print the job id and timing on stderr")
    .action(async (target, fun, words, opts) => {
      const tgtType = targetType(opts);
      if (target && opts.preview) {
        const ids = await withBus(
          program.opts().config,
          (nc) => previewTarget(nc, target, tgtType),
        );
        out(renderPreview(ids, opts.format));
        if (ids.length === 0) setExit(2);
        return;
      }
      if (!target || !fun) {
        program.outputHelp();
        throw new UsageError("a target and a function are required");
      }
      const started = performance.now();
      const outcome = await withBus(program.opts().config, (nc) =>
        runJob(nc, {
          tgt: target,
          tgtType,
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

  program.command("call")
    .description("run a function on this machine (masterless, as salt-call --local)")
    .argument("<function>", "state.apply, state.sls, state.highstate or state.show_sls")
    .argument("[args...]", "SLS references and key=value arguments")
    .requiredOption("--local", "run here, without NATS")
    .requiredOption("--file-root <dir>", "the state tree")
    .option("--facts <file>", "facts as YAML (default: only id: local)")
    .option("--settings-root <dir>", "settings: a directory of YAML files, or one file")
    .option(
      "--policy <file>",
      "the broker policy (a peel.yaml; deny-all when the file does not exist)",
      PEEL_CONFIG_PATH,
    )
    .option("--launcher <file>", "the broker's launcher (default: the policy's broker.launcher)")
    .option("--test", "dry run: change nothing, report what would change")
    .addOption(formatOption)
    .action(async (fun, words, opts) => {
      const out2 = await callLocal({
        fun,
        words,
        fileRoot: opts.fileRoot,
        facts: opts.facts,
        settings: opts.settingsRoot,
        policy: opts.policy,
        launcher: opts.launcher,
        test: opts.test === true,
      });
      if ("compiled" in out2) {
        out(serialize(out2.compiled, opts.format === "text" ? "yaml" : opts.format));
        return;
      }
      out(renderStates("local", out2, opts.format));
      if (out2.summary.failed > 0) setExit(1);
    });

  program.command("init")
    .description("create a deployment: keys, creds, certificates and nats-server.conf")
    .argument("<dir>", "where to write it (e.g. /etc/zester)")
    .option(
      "--host <name>",
      "a name clients dial the server by, for its certificate (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--listen <host:port>", "where nats-server listens", "0.0.0.0:4222")
    .option("--name <name>", "the operator's name", "zester")
    .action(async (dir, opts) => {
      const abs = await initDeployment(dir, {
        hosts: opts.host ?? DEFAULT_HOSTS,
        listen: opts.listen,
        name: opts.name,
      });
      out(renderInit(abs));
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
