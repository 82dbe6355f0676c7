/**
 * The exact Deno permission flags of each Zester process, derived from its config, so the peel
 * gets only what it needs: the NATS servers and its health address, its config and data dir,
 * the few system files the fact collectors read, the template worker's modules, writes in its
 * data dir, and running the broker's fixed launcher and nothing else. `deno.json` holds the
 * same sets for the default install paths.
 * @module
 */
import { parseServerUrl } from "../bus/mod.ts";
// Directly, not through the folder's mod.ts: that would load nunjucks into every process.
import { TEMPLATE_MODULES } from "../template/modules_dir.ts";
import { LINEAR_REGEXP_V8_FLAG } from "../target/mod.ts";
import type { MasterConfig } from "./master.ts";
import { DEFAULT_LAUNCHER, type PeelConfig } from "./peel.ts";
import type { CliConfig } from "./cli.ts";

/**
 * System files the peel's fact collectors read. Deno refuses `/proc` and `/sys` to anything
 * short of `--allow-all`, so CPU model and disks come from the broker instead.
 */
export const PEEL_FACT_READS = ["/etc/os-release", "/etc/hostname", "/etc/hosts"] as const;

/** `Deno.*` system calls the peel's fact collectors make. */
export const PEEL_SYS = [
  "hostname",
  "osRelease",
  "osUptime",
  "loadavg",
  "networkInterfaces",
  "systemMemoryInfo",
] as const;

/**
 * Environment variables npm:yaml reads while parsing (its debug switches). Deno's Node layer
 * throws on any unpermitted `process.env` read, so every process that parses YAML needs these.
 */
export const YAML_ENV = ["LOG_TOKENS", "LOG_STREAM"] as const;

/** `host:port` of each NATS URL, as `--allow-net` grants it (port 4222 when none is given). */
export function natsHosts(urls: string[]): string[] {
  return urls.map((u) => {
    const { host, port } = parseServerUrl(u);
    return `${host}:${port}`;
  });
}

/**
 * The `host:port` of each URL in `urls` this process may not connect to: its `--allow-net` is
 * fixed before it reads its config (baked into a compiled binary, or on a command line).
 */
export function ungrantedNatsHosts(urls: string[]): string[] {
  return natsHosts(urls).filter((host) =>
    Deno.permissions.querySync({ name: "net", host }).state !== "granted"
  );
}

/** `host:port` of an `https://` URL (port 443 by default). */
function httpsHost(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 443}`;
}

/**
 * A value that would change a permission flag's meaning: Deno splits the list on commas, so
 * `data_dir: "/var/lib/zester/peel,/"` would grant `/`; control characters end the argument.
 */
// deno-lint-ignore no-control-regex -- control characters are what this refuses
const UNSAFE_GRANT = /[,\x00-\x1f\x7f]/;

/** A grant that cannot be written as a permission flag. */
export class PermissionGrantError extends TypeError {
  /** Build the error for `value` granted as `name`. */
  constructor(name: string, value: string) {
    super(
      `Cannot grant ${name} access to ${
        JSON.stringify(value)
      }: commas and control characters are not allowed in granted paths and hosts`,
    );
    this.name = "PermissionGrantError";
  }
}

function flag(name: string, values: readonly (string | undefined)[]): string[] {
  const v = [...new Set(values.filter((x): x is string => !!x))];
  for (const x of v) if (UNSAFE_GRANT.test(x)) throw new PermissionGrantError(name, x);
  return v.length ? [`--allow-${name}=${v.join(",")}`] : [];
}

/**
 * Flags every Zester process runs with besides its permissions: never prompt, and load no code
 * that is not already in the module cache (a computed `import("npm:…")` or `import("https://…")`
 * fails instead of fetching, whatever `--allow-net` says: module loading is not governed by it).
 */
export const RUNTIME_FLAGS = ["--no-prompt", "--cached-only", "--no-remote"] as const;

/**
 * The V8 flags of every process that matches targets (master, peel, CLI): the linear-time
 * RegExp engine for `E@`/`P@`.
 */
export const V8_FLAGS = `--v8-flags=${LINEAR_REGEXP_V8_FLAG}`;

/**
 * The V8 flags of the long-running master and peel: {@linkcode V8_FLAGS} and a young generation
 * of 1 MiB semi-spaces. V8 grows them to 16 MiB under allocation and keeps them: about 5 MiB of an
 * idle peel and 60 MiB of a master that loaded 10,000 peels' facts (`bench/findings.md`).
 */
export const DAEMON_V8_FLAGS = `${V8_FLAGS},--max-semi-space-size=1`;

/**
 * The master's environment: glibc's allocator serves blocks of 32 KiB and more from their own
 * mappings, returned to the system when freed. Without it, the buffers of the initial facts load
 * stay in the process's heap, freed but held (about 20 MiB at 10,000 peels, 40–70 at 50,000); the
 * master's CPU per job did not change (`bench/findings.md`). The peel's idle memory did not
 * change either, so it runs without it. Set where the master starts: `deno task master`, the
 * systemd unit, the development fleet.
 */
export const MASTER_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "32768" };

/** Permission flags for `zester-peel` running with `configPath`. */
export function peelPermissionFlags(cfg: PeelConfig, configPath: string): string[] {
  return [
    ...RUNTIME_FLAGS,
    ...flag("net", [
      ...natsHosts(cfg.nats_url),
      cfg.health_addr,
      cfg.master_url && httpsHost(cfg.master_url),
    ]),
    ...flag("read", [
      configPath,
      cfg.data_dir,
      cfg.facts_file,
      cfg.enroll_token_file,
      cfg.nats_creds,
      cfg.nats_ca,
      cfg.nats_cert,
      cfg.nats_key,
      ...PEEL_FACT_READS,
      ...TEMPLATE_MODULES,
    ]),
    ...flag("write", [cfg.data_dir]),
    ...flag("run", [cfg.broker.launcher]),
    ...flag("sys", PEEL_SYS),
    ...flag("env", YAML_ENV),
  ];
}

/**
 * Permission flags for `zester-master` running with `configPath`; with `enroll:`, also its
 * HTTPS listener and the keys, certificate and creds that section names.
 */
export function masterPermissionFlags(cfg: MasterConfig, configPath: string): string[] {
  const e = cfg.enroll;
  return [
    ...RUNTIME_FLAGS,
    ...flag("net", [...natsHosts(cfg.nats_url), cfg.health_addr, e?.addr]),
    ...flag("read", [
      configPath,
      cfg.states_dir,
      cfg.settings_dir,
      cfg.box_key_file,
      ...TEMPLATE_MODULES,
      cfg.nats_creds,
      cfg.nats_ca,
      cfg.nats_cert,
      cfg.nats_key,
      e?.tls_cert,
      e?.tls_key,
      e?.bootstrap_token_file,
      e?.account_signing_key,
      e?.operator_signing_key,
      e?.system_creds,
    ]),
    ...flag("sys", ["hostname"]),
    ...flag("env", YAML_ENV),
  ];
}

/** Environment the CLI reads: its config lookup, the user name, colour switches, npm:yaml. */
export const CLI_ENV = [
  "HOME",
  "USER",
  "LOGNAME",
  "ZESTER_CONFIG",
  "NO_COLOR",
  "FORCE_COLOR",
  "CLICOLOR_FORCE",
  ...YAML_ENV,
] as const;

/**
 * Permission flags for the `zester` CLI using `cfg`. It reads what the operator names (its
 * config, credentials, and for `call --local` the state tree, facts and policy), collects this
 * machine's facts for `call --local` with the peel's system calls, and may run one program: the
 * broker's `launcher`, as the peel may — never Deno, a shell or an interpreter, so a template
 * rendered by `call --local` has the peel's walls.
 */
export function cliPermissionFlags(cfg: CliConfig, launcher = DEFAULT_LAUNCHER): string[] {
  return cliPermissionFlagsFor(natsHosts(cfg.master.urls), launcher);
}

/**
 * The CLI's permission flags with the network granted to `netHosts` (`host:port` each): what
 * `deno task compile --nats-host` bakes into a `zester` for a deployment's NATS servers.
 */
export function cliPermissionFlagsFor(
  netHosts: string[],
  launcher = DEFAULT_LAUNCHER,
): string[] {
  return [
    ...RUNTIME_FLAGS,
    ...flag("net", netHosts),
    "--allow-read",
    ...flag("run", [launcher]),
    ...flag("sys", PEEL_SYS),
    ...flag("env", [...CLI_ENV]),
  ];
}

/**
 * Permission flags for `zester init <dir>`: read and write `dir` only (it checks for an existing
 * deployment, then writes keys, creds, certificates and the server config), and npm:yaml's
 * switches. The `zester` CLI itself has no write permission at all, so that what it renders for
 * `call --local` keeps the peel's walls; `init` is run with these flags instead, for the
 * directory on its command line (`deno.json`'s `init` set grants `/etc/zester`).
 */
export function initPermissionFlags(dir: string): string[] {
  return [
    ...RUNTIME_FLAGS,
    ...flag("read", [dir]),
    ...flag("write", [dir]),
    ...flag("env", [...CLI_ENV]),
  ];
}

/**
 * Permission flags for `zester key issue --deployment <dir> --out <out>`: read the deployment's
 * signing key, CA and master creds, and read and write `out` only. `deno.json`'s `init` set
 * (`/etc/zester`) covers the default `out`, `/etc/zester/peels`.
 */
export function keyIssuePermissionFlags(dir: string, out: string): string[] {
  return [
    ...RUNTIME_FLAGS,
    ...flag("read", [dir, out]),
    ...flag("write", [out]),
    ...flag("env", [...CLI_ENV]),
  ];
}

/**
 * Permission flags for `zester backup create <dir>`: the CLI's NATS servers, reads (its config
 * and creds), writes in `dir` only, and the CLI's environment. `deno.json`'s `backup` set grants
 * `/var/backups/zester`.
 */
export function backupPermissionFlags(cfg: CliConfig, dir: string): string[] {
  return [
    ...RUNTIME_FLAGS,
    ...flag("net", natsHosts(cfg.master.urls)),
    "--allow-read",
    ...flag("write", [dir]),
    ...flag("env", [...CLI_ENV]),
  ];
}

/**
 * Permission flags baked into the broker's launcher. The broker is the privileged half: it may
 * read, write and run, never reach the network; the policy it reads limits what it does.
 */
export function brokerPermissionFlags(): string[] {
  return [
    ...RUNTIME_FLAGS,
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    "--allow-sys=uid,gid",
  ];
}
