/**
 * The exact Deno permission flags of each Zester process, derived from its config, so the peel
 * gets only what it needs: the NATS servers, its config and data dir, the few system files the
 * fact collectors read, writes in its data dir, and running the broker's fixed launcher and
 * nothing else. `deno.json` holds the same sets for the default install paths.
 * @module
 */
import { parseServerUrl } from "../bus/mod.ts";
import { LINEAR_REGEXP_V8_FLAG } from "../target/mod.ts";
import type { MasterConfig } from "./master.ts";
import type { PeelConfig } from "./peel.ts";
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

/** The variable npm:nunjucks's Jinja compatibility layer reads when it is installed. */
export const TEMPLATE_ENV = ["BUILD_TYPE"] as const;

function hosts(urls: string[]): string[] {
  return urls.map((u) => {
    const { host, port } = parseServerUrl(u);
    return `${host}:${port}`;
  });
}

function flag(name: string, values: readonly (string | undefined)[]): string[] {
  const v = [...new Set(values.filter((x): x is string => !!x))];
  return v.length ? [`--allow-${name}=${v.join(",")}`] : [];
}

/**
 * The V8 flags of every process that matches targets (master, peel, CLI): the linear-time
 * RegExp engine for `E@`/`P@`.
 */
export const V8_FLAGS = `--v8-flags=${LINEAR_REGEXP_V8_FLAG}`;

/** Permission flags for `zester-peel` running with `configPath`. */
export function peelPermissionFlags(cfg: PeelConfig, configPath: string): string[] {
  return [
    "--no-prompt",
    ...flag("net", hosts(cfg.nats_url)),
    ...flag("read", [
      configPath,
      cfg.data_dir,
      cfg.facts_file,
      cfg.nats_creds,
      cfg.nats_ca,
      cfg.nats_cert,
      cfg.nats_key,
      ...PEEL_FACT_READS,
    ]),
    ...flag("write", [cfg.data_dir]),
    ...flag("run", [cfg.broker.launcher]),
    ...flag("sys", PEEL_SYS),
    ...flag("env", [...YAML_ENV, ...TEMPLATE_ENV]),
  ];
}

/** Permission flags for `zester-master` running with `configPath`. */
export function masterPermissionFlags(cfg: MasterConfig, configPath: string): string[] {
  return [
    "--no-prompt",
    ...flag("net", hosts(cfg.nats_url)),
    ...flag("read", [
      configPath,
      cfg.states_dir,
      cfg.settings_dir,
      cfg.nats_creds,
      cfg.nats_ca,
      cfg.nats_cert,
      cfg.nats_key,
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
  ...TEMPLATE_ENV,
] as const;

/** Permission flags for the `zester` CLI using the config at `configPath`. */
export function cliPermissionFlags(cfg: CliConfig, configPath: string): string[] {
  return [
    "--no-prompt",
    ...flag("net", hosts(cfg.master.urls)),
    ...flag("read", [
      configPath,
      cfg.master.creds_file,
      cfg.master.ca_file,
      cfg.master.cert_file,
      cfg.master.key_file,
    ]),
    ...flag("env", [...CLI_ENV]),
  ];
}

/**
 * Permission flags baked into the broker's launcher. The broker is the privileged half: it may
 * read, write and run, never reach the network; the policy it reads limits what it does.
 */
export function brokerPermissionFlags(): string[] {
  return [
    "--no-prompt",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    "--allow-sys=uid,gid",
  ];
}
