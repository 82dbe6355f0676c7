/**
 * Starts Zester daemons for development, tests and benchmarks exactly as production starts them:
 * `deno run` with the permission flags derived from each one's config (never `-A`), the peel
 * spawning its broker only through a fixed launcher script.
 * @module
 */
import { stringify } from "yaml";
import {
  DAEMON_V8_FLAGS,
  type DaemonSpec,
  loadDaemonConfig,
  MASTER_DAEMON,
  MASTER_ENV,
  masterPermissionFlags,
  parseDaemonArgs,
  PEEL_DAEMON,
  peelPermissionFlags,
} from "../../lib/config/mod.ts";
import { defaultBrokerPaths, writeBrokerLauncher } from "../../peel/broker/mod.ts";
import type { NatsConnection } from "nats";
import { resolveOnMasters } from "../../lib/job/mod.ts";
import { issuePeelCert, issuePeelFiles, natsFiles } from "./trust.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** Absolute path of the project's `deno.json`. */
export const DENO_CONFIG = `${ROOT}/deno.json`;

/** Development daemons serve their health endpoints on a port the system picks. */
const FREE_PORT = "127.0.0.1:0";

/** A daemon process started by this module. */
export interface Daemon extends AsyncDisposable {
  /** A short name for messages (`master`, `peel web-01`). */
  readonly name: string;
  /** Process id. */
  readonly pid: number;
  /** The permission flags it runs with. */
  readonly flags: string[];
  /** The config file it was given. */
  readonly configPath: string;
  /** The daemon flags it was given after `--config`. */
  readonly args: readonly string[];
  /** Resolves with the exit status when it exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Everything it has written to stderr so far. */
  output(): string;
  /** Resolves when a line matching `re` appears on stderr; rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Spawn `deno run <flags> <main> --config <configPath> <args>` (with `DAEMON_V8_FLAGS`), `env`
 * added to its environment; capture its stderr.
 */
export function spawnDaemon(
  name: string,
  main: string,
  flags: string[],
  configPath: string,
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Daemon {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      DENO_CONFIG,
      DAEMON_V8_FLAGS,
      ...flags,
      main,
      "--config",
      configPath,
      ...args,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  let text = "";
  const waiters = new Set<() => void>();
  const dec = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) {
      text += dec.decode(chunk, { stream: true });
      for (const w of waiters) w();
    }
  })();
  const status = child.status.then(async (s) => {
    await reading.catch(() => {});
    for (const w of waiters) w();
    return s;
  });
  let exited = false;
  status.then(() => exited = true);
  let stopping: Promise<Deno.CommandStatus> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      const s = await status;
      clearTimeout(timer);
      return s;
    })();
  return {
    name,
    pid: child.pid,
    flags,
    configPath,
    args,
    status,
    output: () => text,
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = text.split("\n").find((l) => re.test(l));
          if (m !== undefined) done(() => resolve(m));
          else if (exited) {
            done(() => reject(new Error(`${name} exited before ${re}:\n${text.slice(-3000)}`)));
          }
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(new Error(`${name}: no ${re} in ${timeoutMs} ms:\n${text.slice(-3000)}`))
            ),
          timeoutMs,
        );
        const done = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}

/** The base URL of `daemon`'s health endpoints (`http://127.0.0.1:<port>`), from its log. */
export async function healthUrl(daemon: Daemon): Promise<string> {
  const line = await daemon.waitFor(/"health endpoints listening"/);
  const addr = /"addr":"([^"]+)"/.exec(line)?.[1];
  if (!addr) throw new Error(`${daemon.name}: no address in ${line}`);
  return `http://${addr}`;
}

/**
 * Write `value` as YAML to `path`; a new file is at most 0644 whatever the umask, as the broker
 * refuses a policy others can write.
 */
export async function writeYaml(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, stringify(value), { mode: 0o644 });
}

/**
 * The config a daemon started with `--config <configPath> <args>` runs with: the launcher
 * derives its grants from this, so a flag that moves a path or URL moves the grant too.
 */
export async function launchConfig<T>(
  spec: DaemonSpec<T>,
  configPath: string,
  args: readonly string[],
): Promise<T> {
  return (await loadDaemonConfig(spec, parseDaemonArgs(spec, ["--config", configPath, ...args])))
    .config;
}

/**
 * Start a master with a config written into `dir`, with the master's creds and certificate when
 * `natsUrl` is a secured development server, its health endpoints on a free port, `args`
 * (daemon flags) on its command line and `denoFlags` besides its permissions (`--cpu-prof`).
 */
export async function startMaster(
  dir: string,
  natsUrl: string,
  extra: Record<string, unknown> = {},
  args: readonly string[] = [],
  opts: { readyTimeoutMs?: number; denoFlags?: readonly string[] } = {},
): Promise<Daemon> {
  await Deno.mkdir(`${dir}/states`, { recursive: true });
  const configPath = `${dir}/master.yaml`;
  const raw = {
    nats_url: natsUrl,
    ...natsFiles(natsUrl, "master"),
    states_dir: `${dir}/states`,
    settings_dir: `${dir}/settings`,
    health_addr: FREE_PORT,
    ...extra,
  };
  await writeYaml(configPath, raw);
  const cfg = await launchConfig(MASTER_DAEMON, configPath, args);
  const d = spawnDaemon(
    "master",
    `${ROOT}/master/main.ts`,
    [...masterPermissionFlags(cfg, configPath), ...opts.denoFlags ?? []],
    configPath,
    args,
    MASTER_ENV,
  );
  await d.waitFor(/"master ready"/, opts.readyTimeoutMs ?? 30_000);
  return d;
}

/**
 * Write a broker launcher for this checkout at `path` (a root-owned script in production) whose
 * broker reads its policy from `policyPath`.
 */
export async function writeDevLauncher(path: string, policyPath: string): Promise<string> {
  await writeBrokerLauncher({ path, policyPath, ...defaultBrokerPaths() });
  return path;
}

/**
 * The broker section a development peel gets: shell commands allowed, files under
 * `<base>/files` readable and writable, the audit log beside the config, all else denied.
 */
export function devBrokerPolicy(base: string): Record<string, unknown> {
  return {
    launcher: `${base}/zester-broker`,
    idle_timeout: "30s",
    audit_log: `${base}/broker-audit.log`,
    cmd_run: "allow",
    read_paths: [`${base}/files`],
    write_paths: [`${base}/files`],
  };
}

/**
 * Start a peel `id` whose config, data dir, custom facts, broker launcher, audit log, creds and
 * client certificate (its own, on a secured development server) live under `<dir>/<id>`, with
 * its health endpoints on a free port. `broker` entries replace those of
 * {@linkcode devBrokerPolicy}. With `enroll` (the master's enrollment URL) the peel gets no creds
 * and enrolls there, asking every 500 ms while it waits. Resolves once the peel is ready, or at
 * once with `ready: false`.
 */
export async function startPeel(
  dir: string,
  natsUrl: string,
  id: string,
  opts: {
    broker?: Record<string, unknown>;
    extra?: Record<string, unknown>;
    /** Deno flags besides the permissions (tests preload a probe with `--preload`). */
    denoFlags?: string[];
    /** Wait for "peel ready"; default true. */
    ready?: boolean;
    /** Daemon flags after `--config`. */
    args?: readonly string[];
    /** Enroll at this URL instead of getting creds issued. */
    enroll?: string;
  } = {},
): Promise<Daemon> {
  const base = `${dir}/${id}`;
  await Deno.mkdir(`${base}/files`, { recursive: true, mode: 0o755 }); // Policy dirs: root-only.
  const configPath = `${base}/peel.yaml`;
  const broker = { ...devBrokerPolicy(base), ...opts.broker };
  const raw = {
    id,
    nats_url: natsUrl,
    ...opts.enroll
      ? {
        ...await issuePeelCert(natsUrl, id, base),
        master_url: opts.enroll,
        enroll_interval: "500ms",
      }
      : await issuePeelFiles(natsUrl, id, base),
    data_dir: `${base}/data`,
    facts_file: `${base}/facts.yaml`,
    health_addr: FREE_PORT,
    broker,
    ...opts.extra,
  };
  await writeDevLauncher(String(broker.launcher), configPath);
  await writeYaml(configPath, raw);
  const args = opts.args ?? [];
  const cfg = await launchConfig(PEEL_DAEMON, configPath, args);
  const d = spawnDaemon(
    `peel ${id}`,
    `${ROOT}/peel/main.ts`,
    [...peelPermissionFlags(cfg, configPath), ...(opts.denoFlags ?? [])],
    configPath,
    args,
  );
  // A peel's start took over 30 s on a machine at load 19 (16 s between two of its log lines).
  if (opts.ready !== false) await d.waitFor(/"peel ready"/, 60_000);
  return d;
}

/** Wait until the masters resolve `*` to at least `ids` (their facts are indexed). */
export async function waitForPeels(
  nc: NatsConnection,
  ids: string[],
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const found = new Set(await resolveOnMasters(nc, "*"));
      if (ids.every((id) => found.has(id))) return;
    } catch { /* no master yet */ }
    if (Date.now() > until) throw new Error(`peels ${ids.join(", ")} not indexed in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
