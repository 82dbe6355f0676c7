/**
 * `deno task compile [--peel-config FILE] [--master-config FILE] [--cli-config FILE]
 * [--nats-host HOST:PORT]… [--out DIR] [--print]`: builds `zester`, `zester-master`,
 * `zester-peel` and `zester-broker` with `deno compile`, each with its permissions baked in: the
 * `deno.json` sets for the default install paths, or, with `--peel-config` or `--master-config`,
 * the flags derived from that config (a master with an `enroll:` section, or a peel that enrolls,
 * needs its listener or master URL granted).
 *
 * The CLI reads its config only once it runs, so its network grant is the deployment's NATS
 * servers, named at build time: `--nats-host` (repeatable), else the URLs of `--cli-config`, else
 * `127.0.0.1:4222`. A `zester` whose config names another server refuses to connect and says
 * which host and how to rebuild.
 *
 * `deno compile` needs its base binary, `denort`, which it downloads unless `DENORT_BIN` names
 * one; this task refuses to start without it and says what to fetch.
 * @module
 */
import {
  brokerPermissionFlags,
  CliConfig,
  cliPermissionFlagsFor,
  DAEMON_V8_FLAGS,
  loadConfig,
  MasterConfig,
  masterPermissionFlags,
  natsHosts,
  PeelConfig,
  peelPermissionFlags,
  RUNTIME_FLAGS,
  V8_FLAGS,
} from "../lib/config/mod.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** One binary to build. */
export interface Target {
  name: string;
  entry: string;
  flags: string[];
}

/** What the binaries are built for. */
export interface CompileOptions {
  peelConfig?: string;
  masterConfig?: string;
  cliConfig?: string;
  /** The NATS servers the CLI may reach, `host:port` or URLs; wins over `cliConfig`. */
  natsHosts?: string[];
}

/** The CLI's permission flags: the network granted to the hosts `opts` names. */
async function cliFlags(opts: CompileOptions): Promise<string[]> {
  if (opts.natsHosts?.length) {
    try {
      return cliPermissionFlagsFor(natsHosts(opts.natsHosts));
    } catch (e) {
      throw new TypeError(`--nats-host: ${(e as Error).message}`, { cause: e });
    }
  }
  if (opts.cliConfig) {
    const cfg = await loadConfig(opts.cliConfig, CliConfig);
    return cliPermissionFlagsFor(natsHosts(cfg.master.urls));
  }
  return ["-P=cli"];
}

/** The four binaries and their baked-in permissions (and V8 flags). */
export async function targets(opts: CompileOptions = {}): Promise<Target[]> {
  const { peelConfig, masterConfig } = opts;
  const peelFlags = peelConfig
    ? peelPermissionFlags(await loadConfig(peelConfig, PeelConfig), peelConfig)
    : ["-P=peel"];
  const masterFlags = masterConfig
    ? masterPermissionFlags(await loadConfig(masterConfig, MasterConfig), masterConfig)
    : ["-P=master"];
  // Workers are not compiled in unless named: the two that render templates need theirs.
  const worker = ["--include", `${ROOT}/lib/template/worker.ts`];
  return [
    { name: "zester", entry: "cli/main.ts", flags: [...await cliFlags(opts), V8_FLAGS, ...worker] },
    { name: "zester-master", entry: "master/main.ts", flags: [...masterFlags, DAEMON_V8_FLAGS] },
    {
      name: "zester-peel",
      entry: "peel/main.ts",
      flags: [...peelFlags, DAEMON_V8_FLAGS, ...worker],
    },
    { name: "zester-broker", entry: "peel/broker/main.ts", flags: brokerPermissionFlags() },
  ];
}

/** Why compiling cannot start, or undefined when `DENORT_BIN` names a file. */
export function missingDenort(denort: string | undefined): string | undefined {
  const asset = `denort-${Deno.build.target}.zip`;
  const fetch = `Fetch ${asset} for Deno ${Deno.version.deno} from the Deno release ` +
    `downloads on a machine that can reach them, unzip it here, and run ` +
    `DENORT_BIN=/path/to/denort deno task compile`;
  if (!denort) {
    return `Cannot compile: deno compile needs its base binary "denort" and would download it; ` +
      `set DENORT_BIN. ${fetch}`;
  }
  try {
    if (!Deno.statSync(denort).isFile) {
      return `Cannot compile: DENORT_BIN "${denort}" is not a file`;
    }
  } catch {
    return `Cannot compile: DENORT_BIN "${denort}" does not exist. ${fetch}`;
  }
  return undefined;
}

async function main(args: string[]): Promise<number> {
  const at = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const every = (flag: string) => args.flatMap((a, i) => a === flag ? [args[i + 1] ?? ""] : []);
  const out = at("--out") ?? `${ROOT}/dist`;
  let list: Target[];
  try {
    list = await targets({
      peelConfig: at("--peel-config"),
      masterConfig: at("--master-config"),
      cliConfig: at("--cli-config"),
      natsHosts: every("--nats-host"),
    });
  } catch (e) {
    console.error(`Cannot compile: ${(e as Error).message}`);
    return 1;
  }
  const commands = list.map((t) => [
    "compile",
    "--config",
    `${ROOT}/deno.json`,
    ...RUNTIME_FLAGS.filter((f) => !t.flags.includes(f)),
    ...t.flags,
    "--output",
    `${out}/${t.name}`,
    `${ROOT}/${t.entry}`,
  ]);
  if (args.includes("--print")) {
    for (const c of commands) console.log(["deno", ...c].join(" "));
    return 0;
  }
  const problem = missingDenort(Deno.env.get("DENORT_BIN"));
  if (problem) {
    console.error(problem);
    return 1;
  }
  await Deno.mkdir(out, { recursive: true });
  for (const [i, c] of commands.entries()) {
    const { code } = await new Deno.Command(Deno.execPath(), { args: c }).spawn().status;
    if (code !== 0) {
      console.error(`Cannot compile ${list[i]!.name}: deno compile exited with ${code}`);
      return 1;
    }
  }
  console.log(`Built ${list.map((t) => t.name).join(", ")} in ${out}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
