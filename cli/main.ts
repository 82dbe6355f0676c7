/**
 * `zester`: the operator CLI.
 *
 * ```sh
 * zester '<target>' <module.function> [args…] [key=value…] [-t 30] [--out json] [-b 10%]
 * zester job list|show|active|kill|wait
 * zester peel list|show, zester master list
 * zester basket get '<target>' <function> [--tgt-type <type>] | basket list <peel-id>
 * zester settings show <peel-id> | settings refresh [target] | settings encrypt
 * zester key list|accept|reject|revoke|delete|show|issue   (or salt-key's -L, -a, -A, -r, -d)
 * zester backup create|restore <dir>
 * ```
 * Exit status: 0 when the job ended complete (every target returned successfully), 1 when it
 * did not (a target failed or did not return, or the CLI stopped waiting first), 2 when the
 * command could not run (bad input, no master, no matching peel).
 * @module
 */
import {
  Command,
  InvalidArgumentError,
  Option,
  type OptionValues,
} from "@commander-js/extra-typings";
import type { NatsConnection } from "nats";
import { basketGet } from "../lib/basket/mod.ts";
import { closeBus, connectBus, restoreBackup } from "../lib/bus/mod.ts";
import {
  cliBusOptions,
  type CliConfig,
  parseDuration,
  PEEL_CONFIG_PATH,
  ungrantedNatsHosts,
} from "../lib/config/mod.ts";
import {
  type ExecReturn,
  isTerminal,
  JOB_STATUSES,
  type JobStatus,
  MAX_TIMEOUT_MS,
  TARGET_TYPES,
  type TargetType,
} from "../lib/job/mod.ts";
import { loadCliConfig } from "./config.ts";
import { parseBatchSize, runBatch } from "./commands/batch.ts";
import {
  activeJobs,
  killJob,
  listJobs,
  renderJobDetail,
  renderJobList,
  renderWaited,
  showJob,
  waitJob,
} from "./commands/job.ts";
import {
  exitCode,
  runJob,
  type RunOptions,
  type RunOutcome,
  submitJob,
  summaryLine,
} from "./commands/run.ts";
import { listPeels, renderPeelDetail, renderPeelList, showPeel } from "./commands/peel.ts";
import { listMasters, renderMasterList } from "./commands/master.ts";
import { basketList, noEntries, renderBasket } from "./commands/basket.ts";
import { previewTarget, renderPreview } from "./commands/preview.ts";
import { callLocal, renderStates } from "./commands/call.ts";
import {
  DEFAULT_HOSTS,
  initDeployment,
  issueDir,
  issuePeel,
  renderInit,
  renderIssue,
} from "./commands/init.ts";
import { backupCreate, renderBackup, renderRestore } from "./commands/backup.ts";
import { keyRequest, renderKeyChange, renderKeyList, renderKeyShow } from "./commands/key.ts";
import { type AdminOp, type AdminRequest, ENROLLMENT_STATUSES } from "../lib/enroll/mod.ts";
import { DEFAULT_MONITOR } from "../lib/auth/mod.ts";
import {
  encryptedLiteral,
  fetchMasterKey,
  readMasterKeyFile,
  secretFromStdin,
} from "./commands/settings_encrypt.ts";
import {
  type Format,
  FORMAT_NAMES,
  isText,
  LivePrinter,
  parseFormat,
  serialize,
} from "./output/mod.ts";

/** The `tgt_type` chosen by Salt's single-matcher flags, or undefined to detect it. */
function targetType(opts: {
  pcre?: boolean;
  list?: boolean;
  grain?: boolean;
  grainPcre?: boolean;
  pillar?: boolean;
  pillarPcre?: boolean;
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
    [opts.pillarPcre, "pillar_pcre"],
    [opts.ipcidr, "ipcidr"],
    [opts.nodegroup, "nodegroup"],
    [opts.compound, "compound"],
  ];
  const set = chosen.filter(([on]) => on).map(([, kind]) => kind);
  if (set.length > 1) throw new UsageError(`choose one target type, not ${set.join(" and ")}`);
  return set[0];
}

/** What the CLI hears while a job runs. */
type RunEvents = NonNullable<Parameters<typeof runJob>[2]>;

/** A job of `fun` on `tgt` for the `settings` commands. */
function settingsJob(tgt: string, fun: string, waitMs: number): RunOptions {
  return { tgt, fun, words: [], waitMs, user: currentUser() };
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
  fn: (nc: NatsConnection, config: CliConfig) => Promise<T>,
): Promise<T> {
  const { config, path } = await loadCliConfig(configPath);
  const ungranted = ungrantedNatsHosts(config.master.urls);
  if (ungranted.length) throw new UsageError(ungrantedMessage(ungranted, path));
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
    return await fn(nc, config);
  } finally {
    await closeBus(nc, 5_000);
  }
}

/**
 * Why this CLI cannot reach `hosts`: its network grant was fixed before it read its config
 * `path`; how to give it one.
 */
function ungrantedMessage(hosts: string[], path: string | undefined): string {
  const list = hosts.map((h) => JSON.stringify(h)).join(", ");
  return `Cannot connect to NATS at ${list}${path ? ` (from ${path})` : ""}: ` +
    `this zester has no network grant for it; rebuild it with deno task compile ` +
    `${hosts.map((h) => `--nats-host ${h}`).join(" ")} (or --cli-config <config>), ` +
    `or run it from a checkout with --allow-net=${hosts.join(",")}`;
}

/** `--since`: a duration ago (`1h`) or a time (`2026-01-15T10:00:00Z`). */
function sinceOption(v: string): number {
  try {
    return Date.now() - parseDuration(v);
  } catch {
    const t = Date.parse(v);
    if (Number.isNaN(t)) {
      throw new InvalidArgumentError("expected a duration such as 1h, or a time");
    }
    return t;
  }
}

function countOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/**
 * `--format` and Salt's name for it, `--out`, which wins when given: actions read only
 * `opts.format`.
 */
function formatOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) {
  return cmd
    .addOption(
      new Option("--format <format>", `output format: ${FORMAT_NAMES.join(", ")}`)
        .argParser(parseFormat)
        .default("text" as Format),
    )
    .addOption(
      new Option("--out <format>", "the same as --format (Salt's name)").argParser(parseFormat),
    )
    .hook("preAction", (self) => {
      const out = self.getOptionValue("out");
      if (out !== undefined) self.setOptionValueWithSource("format", out, "cli");
    });
}

/** The words that start `cmd` on the command line (`zester job list`). */
function commandPath(cmd: Command<unknown[], Record<string, unknown>>): string {
  const names: string[] = [];
  for (let c: typeof cmd | null = cmd; c; c = c.parent as typeof cmd | null) {
    names.unshift(c.name());
  }
  return names.join(" ");
}

/** After a usage error, every command prints its one usage line, not its whole help. */
function usageLineAfterErrors(cmd: Command<unknown[], Record<string, unknown>>): void {
  cmd.showHelpAfterError(`Usage: ${commandPath(cmd)} ${cmd.usage()}  (--help for more)`);
  for (const sub of cmd.commands) {
    usageLineAfterErrors(sub as Command<unknown[], Record<string, unknown>>);
  }
}

/** Build the CLI program; `out` receives what would go to stdout. */
export function buildProgram(out: (text: string) => void, setExit: (code: number) => void) {
  const program = new Command()
    .name("zester")
    .description("Run functions on peels and inspect jobs")
    .usage("[options] <target> <function> [args...]")
    .version("0.1.0")
    .option("-c, --config <file>", "CLI config file (default ~/.zester/config.yaml)")
    .enablePositionalOptions()
    .exitOverride();
  const bus = <T>(fn: (nc: NatsConnection, config: CliConfig) => Promise<T>) =>
    withBus(program.opts().config, fn);
  /** Run a job, printing returns as they arrive (all at the end with `static`). */
  const runPrinted = async (
    run: RunOptions,
    format: Format,
    opts: { static?: boolean; verbose?: boolean },
    start: (nc: NatsConnection, events: RunEvents) => Promise<RunOutcome> = (nc, events) =>
      runJob(nc, run, events),
  ) => {
    const started = performance.now();
    const printer = new LivePrinter(out, format, opts.static === true);
    const events = {
      onDispatched: (_jid: string, n: number) => printer.dispatched(n),
      onReturn: (id: string, r: ExecReturn) => printer.returned(id, r),
      onAbsent: (ids: string[]) => printer.absent(ids),
    };
    const outcome = await bus((nc) => start(nc, events)).finally(() => printer.close());
    printer.end(outcome);
    if (opts.verbose) console.error(summaryLine(outcome, performance.now() - started));
    if (!outcome.ended && outcome.missing.some((id) => !outcome.absent.has(id))) {
      console.error(
        `zester: job ${outcome.jid} is still running; follow it with: zester job wait ${outcome.jid}`,
      );
    }
    setExit(exitCode(outcome));
  };

  formatOptions(program)
    .argument("[target]", "target expression (a glob on peel ids by default)")
    .argument("[function]", "function to run, e.g. test.ping")
    .argument("[args...]", "arguments: positional values and key=value pairs")
    .option(
      "-t, --timeout <duration>",
      "how long to wait for returns (the job keeps its own deadline), e.g. 30 or 5m",
      timeoutOption,
      5_000,
    )
    .option(
      "--job-timeout <duration>",
      "the job's own timeout (capped by the master)",
      timeoutOption,
    )
    .option("--static", "print every return at once, at the end")
    .option("--async", "print the job id and do not wait")
    .option(
      "-b, --batch <size>",
      "run on at most this many peels at a time (N or N%)",
      parseBatchSize,
    )
    .option("--batch-wait <duration>", "in batch mode, pause after each return", timeoutOption)
    .option("--batch-fail <n>", "in batch mode, start no new peel once n failed", countOption)
    .option("--failhard", "in batch mode, start no new peel once one failed")
    .option("-E, --pcre", "target is a regex on peel ids")
    .option("-L, --list", "target is a comma-separated list of peel ids")
    .option("-G, --grain", "target is a fact glob, key:value")
    .option("-P, --grain-pcre", "target is a fact regex, key:regex")
    .option("-I, --pillar", "target is a settings glob, key:value")
    .option("-J, --pillar-pcre", "target is a settings regex, key:regex")
    .option("-S, --ipcidr", "target is an address or network")
    .option("-N, --nodegroup", "target is a nodegroup name")
    .option("-C, --compound", "target is a compound expression")
    .option("--preview", "print the peels the target matches and run nothing")
    .option("-v, --verbose", "print the job id and timing on stderr")
    .action(async (target, fun, words, opts) => {
      const tgtType = targetType(opts);
      if (target && opts.preview) {
        const ids = await bus((nc) => previewTarget(nc, target, tgtType));
        out(renderPreview(ids, opts.format));
        if (ids.length === 0) setExit(2);
        return;
      }
      if (!target) {
        program.outputHelp();
        setExit(2);
        return;
      }
      if (!fun) throw new UsageError("a function to run is required, e.g. test.ping");
      const run = {
        tgt: target,
        tgtType,
        fun,
        words,
        waitMs: opts.timeout,
        jobTimeoutMs: opts.jobTimeout,
        user: currentUser(),
      };
      if (opts.async) {
        if (opts.batch) throw new UsageError("--async cannot be used with --batch");
        const reply = await bus((nc) => submitJob(nc, run));
        out(`Executed command with job ID: ${reply.jid}`);
        return;
      }
      const failLimit = opts.failhard ? 1 : opts.batchFail;
      await runPrinted(
        run,
        opts.format,
        opts,
        (nc, events) =>
          opts.batch
            ? runBatch(
              nc,
              run,
              { size: opts.batch, waitMs: opts.batchWait ?? 0, failLimit },
              events,
            )
            : runJob(nc, run, events),
      );
    });

  formatOptions(program.command("call"))
    .description("run a function on this machine (masterless, as salt-call --local)")
    .argument("<function>", "state.apply, state.sls, state.highstate or state.show_sls")
    .argument("[args...]", "SLS references and key=value arguments")
    .requiredOption("--local", "run here, without NATS")
    .requiredOption("--file-root <dir>", "the state tree")
    .option("--facts <file>", "facts as YAML (default: only id: local)")
    .option("--settings-root <dir>", "settings: a tree with its top file, or one file")
    .option(
      "--policy <file>",
      "the broker policy (a peel.yaml; deny-all when the file does not exist)",
      PEEL_CONFIG_PATH,
    )
    .option("--launcher <file>", "the broker's launcher (default: the policy's broker.launcher)")
    .option("--test", "dry run: change nothing, report what would change")
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
        out(serialize(out2.compiled, isText(opts.format) ? "yaml" : opts.format));
        return;
      }
      out(renderStates("local", out2, opts.format));
      if (out2.summary.failed > 0) setExit(1);
    });

  const settings = program.command("settings")
    .description("peels' settings (Salt's pillar): show, refresh, and seal secrets for them");
  formatOptions(settings.command("show").description("show the settings a peel compiled"))
    .argument("<peel-id>", "the peel")
    .option("-t, --timeout <duration>", "how long to wait for the peel", timeoutOption, 10_000)
    .option("--static", "print the return at the end")
    .action((id, opts) =>
      runPrinted(
        { ...settingsJob(id, "settings.items", opts.timeout), tgtType: "list" },
        opts.format,
        opts,
      )
    );
  formatOptions(
    settings.command("refresh").description(
      "have peels compile their settings again now (Salt's saltutil.refresh_pillar)",
    ),
  )
    .argument("[target]", "target expression (a glob on peel ids by default)", "*")
    .option("-t, --timeout <duration>", "how long to wait for returns", timeoutOption, 10_000)
    .option("--static", "print every return at once, at the end")
    .action((target, opts) =>
      runPrinted(
        settingsJob(target, "saltutil.refresh_pillar", opts.timeout),
        opts.format,
        opts,
      )
    );

  program.command("init")
    .description("create a deployment: keys, creds, certificates and nats-server.conf")
    .argument("<dir>", "where to write it (e.g. /etc/zester)")
    .option(
      "--host <name>",
      "a name clients dial the server by, for its certificate (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      "--master-host <name>",
      "a name peels reach the master's enrollment API by (repeatable; default: the --host names)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--listen <host:port>", "where nats-server listens", "0.0.0.0:4222")
    .option(
      "--monitor <host:port>",
      "nats-server's monitoring endpoint (no authentication: keep it on loopback), or off",
      DEFAULT_MONITOR,
    )
    .option("--name <name>", "the operator's name", "zester")
    .action(async (dir, opts) => {
      const abs = await initDeployment(dir, {
        hosts: opts.host ?? DEFAULT_HOSTS,
        masterHosts: opts.masterHost,
        listen: opts.listen,
        monitor: opts.monitor,
        name: opts.name,
      });
      out(renderInit(abs));
    });

  const backup = program.command("backup").description(
    "back up every bucket and stream to files, and restore them",
  );
  backup.command("create")
    .description("write every bucket and stream into a new directory (backup creds)")
    .argument("<dir>", "where to write it; must be empty")
    .action(async (dir) => {
      await bus(async (nc, config) => out(renderBackup(dir, await backupCreate(nc, config, dir))));
    });
  backup.command("restore")
    .description("recreate the streams of a backup and publish its messages (restore creds)")
    .argument("<dir>", "a directory backup create wrote")
    .option("--replace", "purge streams that hold messages instead of refusing")
    .option("--replicas <n>", "servers that keep each stream (default: as backed up)", countOption)
    .action((dir, opts) =>
      bus(async (nc) =>
        out(renderRestore(
          dir,
          await restoreBackup(nc, dir, { replace: opts.replace, replicas: opts.replicas }),
        ))
      )
    );
  settings.command("encrypt")
    .description("seal a value read from stdin to the master's key; prints the !encrypted literal")
    .option(
      "--master-key <file>",
      "the master's box public key (default: the one the master publishes in NATS)",
    )
    .option("--raw", "seal stdin exactly as read, trailing newline included")
    .action(async (opts) => {
      const key = opts.masterKey
        ? await readMasterKeyFile(opts.masterKey)
        : await bus(fetchMasterKey);
      if (Deno.stdin.isTerminal()) console.error("Type the value, then Ctrl-D on a new line:");
      const input = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
      out(encryptedLiteral(secretFromStdin(input, opts.raw === true), key));
    });

  const list = (opts: {
    format: Format;
    status?: JobStatus;
    function?: string;
    target?: string;
    since?: number;
    limit: number;
  }) =>
    bus(async (nc) => {
      const jobs = await listJobs(nc, {
        status: opts.status,
        fun: opts.function,
        target: opts.target,
        since: opts.since,
        limit: opts.limit,
      });
      out(renderJobList(jobs, opts.format));
    });
  const show = (jid: string, opts: { format: Format }) =>
    bus(async (nc) => {
      const detail = await showJob(nc, jid);
      out(renderJobDetail(detail, opts.format));
      if (!isTerminal(detail.job.status)) {
        console.error(
          `zester: job ${jid} is still ${detail.job.status}; follow it with: zester job wait ${jid}`,
        );
      }
      if (detail.job.status !== "complete") setExit(1);
    });
  const active = (opts: { format: Format }) =>
    bus(async (nc) => out(renderJobList(await activeJobs(nc), opts.format)));
  const listOptions = <O extends OptionValues, G extends OptionValues>(cmd: Command<[], O, G>) =>
    formatOptions(cmd)
      .addOption(new Option("--status <status>", "only jobs in this status").choices(JOB_STATUSES))
      .option("--function <glob>", "only jobs of matching functions")
      .option("--target <glob>", "only jobs whose target expression matches")
      .option(
        "--since <when>",
        "only jobs created since: a duration ago (1h) or a time",
        sinceOption,
      )
      .option("-n, --limit <n>", "how many", countOption, 50);

  const job = program.command("job").description("inspect, follow and cancel jobs");
  listOptions(job.command("list").description("list recent jobs, newest first")).action(list);
  formatOptions(job.command("show").description("show a job, its returns and what they hold"))
    .argument("<jid>", "job id")
    .action(show);
  formatOptions(job.command("active").description("list the jobs that have not ended"))
    .action(active);
  job.command("kill")
    .description("cancel a job: peels stop it, it ends canceled with the returns it has")
    .argument("<jid>", "job id")
    .action(async (jid) => {
      await bus(async (nc) => {
        await killJob(nc, jid, currentUser());
        const o = await waitJob(nc, jid, KILL_WAIT_MS);
        out(
          `Job ${jid} ${
            o.ended ? o.status : "is being canceled"
          }: ${o.returns.size}/${o.targets.length} returned`,
        );
        if (o.status !== "canceled") setExit(1);
      });
    });
  formatOptions(job.command("wait").description("wait for a job to end and print its returns"))
    .argument("<jid>", "job id")
    .option(
      "-t, --timeout <duration>",
      "give up after this long (default: its deadline)",
      timeoutOption,
    )
    .action(async (jid, opts) => {
      const o = await bus(async (nc) => {
        const record = await showJob(nc, jid);
        const left = Date.parse(record.job.deadline) - Date.now() + 5_000;
        return await waitJob(nc, jid, opts.timeout ?? Math.max(left, 0));
      });
      out(renderWaited(o, opts.format));
      if (!o.ended) console.error(`zester: job ${jid} is still ${o.status}`);
      setExit(exitCode(o));
    });

  const peel = program.command("peel").description("list the peels and show one");
  const askTimeout = [
    "-t, --timeout <duration>",
    "how long to wait for the peels to answer",
    timeoutOption,
    5_000,
  ] as const;
  formatOptions(peel.command("list").description("every known peel: connected, last seen, version"))
    .addOption(
      new Option("--status <status>", "only peels in this state").choices(
        ["connected", "disconnected"] as const,
      ),
    )
    .option(...askTimeout)
    .action((opts) =>
      bus(async (nc) => {
        const ask = { waitMs: opts.timeout, user: currentUser() };
        out(renderPeelList(await listPeels(nc, ask, opts.status), opts.format));
      })
    );
  formatOptions(peel.command("show").description("one peel: connection, last seen and facts"))
    .argument("<id>", "peel id")
    .option(...askTimeout)
    .action((id, opts) =>
      bus(async (nc) => {
        const p = await showPeel(nc, id, { waitMs: opts.timeout, user: currentUser() });
        out(renderPeelDetail(p, opts.format));
        if (!p.connected) setExit(1);
      })
    );
  const master = program.command("master").description("list the masters");
  formatOptions(master.command("list").description("masters with a live heartbeat"))
    .action((opts) => bus(async (nc) => out(renderMasterList(await listMasters(nc), opts.format))));
  const basket = program.command("basket").description(
    "read what peels published into the basket (Salt's mine)",
  );
  formatOptions(basket.command("get").description("one entry of every peel a target selects"))
    .argument("<target>", "target expression (read as for jobs unless --tgt-type says)")
    .argument("<function>", "the entry: a function or alias, e.g. network.ip_addrs")
    .addOption(
      new Option("--tgt-type <type>", "how to read the target (Salt's tgt_type)").choices(
        TARGET_TYPES,
      ),
    )
    .action(async (tgt, name, opts) => {
      const found = await bus((nc) => basketGet(nc, tgt, name, opts.tgtType));
      out(renderBasket(found, opts.format, noEntries(tgt, name, opts.tgtType)));
    });
  formatOptions(basket.command("list").description("the entries one peel has published"))
    .argument("<peel-id>", "peel id")
    .action(async (peelId, opts) => {
      const found = await bus((nc) => basketList(nc, peelId));
      out(renderBasket(found, opts.format, ""));
    });
  const keyChange = (op: AdminOp, target: string, opts: { format: Format }) =>
    bus(async (nc) => {
      const records = await keyRequest(nc, op, { target, actor: currentUser() });
      if (records.length === 0) {
        out(`No pending enrollments match "${target}".`);
        setExit(2);
        return;
      }
      out(renderKeyChange(records, opts.format));
    });
  const keyList = (opts: { format: Format; status?: string }) =>
    bus(async (nc) => {
      const status = opts.status as AdminRequest["status"];
      out(renderKeyList(await keyRequest(nc, "list", { status }), opts.format));
    });
  const key = formatOptions(
    program.command("key").description("manage peel enrollments (salt-key's flags work too)"),
  )
    .option("-L, --list-all", "list every enrollment (key list)")
    .option("-a, --accept <id>", "accept a pending peel, or every pending match of a glob")
    .option("-A, --accept-all", "accept every pending peel")
    .option("-r, --reject <id>", "reject a pending peel")
    .option("-d, --delete <id>", "delete a peel's enrollment, revoking its key (key delete)")
    .action(async (opts) => {
      if (opts.listAll) await keyList(opts);
      else if (opts.accept) await keyChange("accept", opts.accept, opts);
      else if (opts.acceptAll) await keyChange("accept", "*", opts);
      else if (opts.reject) await keyChange("reject", opts.reject, opts);
      else if (opts.delete) await keyChange("delete", opts.delete, opts);
      else {
        key.outputHelp();
        setExit(2);
      }
    });
  formatOptions(key.command("list").description("list enrollments"))
    .addOption(
      new Option("--status <status>", "only enrollments in this status").choices(
        ENROLLMENT_STATUSES,
      ),
    )
    .action(keyList);
  formatOptions(key.command("accept").description("accept a pending peel, or every match"))
    .argument("<id|glob>", "peel id, or a glob: every pending peel it matches")
    .action((target, opts) => keyChange("accept", target, opts));
  formatOptions(key.command("reject").description("reject a pending peel"))
    .argument("<id>", "peel id")
    .action((target, opts) => keyChange("reject", target, opts));
  formatOptions(
    key.command("revoke").description("revoke a peel: the servers drop it and refuse its creds"),
  )
    .argument("<id>", "peel id")
    .action((target, opts) => keyChange("revoke", target, opts));
  key.command("issue")
    .description(
      "write a peel's creds and client certificate offline, for peels that do not enroll",
    )
    .argument("<peel-id>", "peel id")
    .requiredOption("--deployment <dir>", "the directory zester init wrote (e.g. /etc/zester)")
    .option(
      "--out <dir>",
      "where to write <peel-id>.creds, .pem and .key (default <deployment>/peels)",
    )
    .action(async (id, opts) => {
      out(renderIssue(await issuePeel(id, opts.deployment, opts.out ?? issueDir(opts.deployment))));
    });
  formatOptions(
    key.command("delete").description(
      "delete a peel's enrollment (revoking its key) so that it may enroll again under its id",
    ),
  )
    .argument("<id>", "peel id")
    .action((target, opts) => keyChange("delete", target, opts));
  formatOptions(key.command("show").description("show an enrollment and its key fingerprints"))
    .argument("<id>", "peel id")
    .action((target, opts) =>
      bus(async (nc) => {
        const [record] = await keyRequest(nc, "show", { target });
        out(renderKeyShow(record!, opts.format));
      })
    );

  // Salt's runner names, for the fingers that know them.
  listOptions(program.command("jobs.list_jobs", { hidden: true })).action(list);
  formatOptions(program.command("jobs.lookup_jid", { hidden: true })).argument("<jid>").action(
    show,
  );
  formatOptions(program.command("jobs.print_job", { hidden: true })).argument("<jid>").action(show);
  formatOptions(program.command("jobs.active", { hidden: true })).action(active);

  usageLineAfterErrors(program as unknown as Command<unknown[], Record<string, unknown>>);
  return program;
}

/** How long `job kill` waits for the job to end. */
const KILL_WAIT_MS = 10_000;

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
