/**
 * Starts a throwaway `nats-server` with JetStream on a free loopback port and a temp store, for
 * the quickstart, the tests and the benchmarks: in operator mode with mutual TLS, on the
 * development deployment of `trust.ts` (whose registry then knows the server's URL), or plain
 * for the benchmarks that measure NATS itself. Stopping it kills the process and removes the
 * store.
 *
 * @example
 * ```ts
 * import { startNatsServer } from "./nats_server.ts";
 * await using ns = await startNatsServer();
 * console.log(ns.url); // tls://127.0.0.1:41234
 * ```
 * @module
 */
import { devAccountConfig, devServerConfig, devTrustConfig, forget, register } from "./trust.ts";

/** A running nats-server. */
export interface NatsServer extends AsyncDisposable {
  /** Client URL (`tls://127.0.0.1:<port>`, or `nats://` for a plain server). */
  readonly url: string;
  /** Client port. */
  readonly port: number;
  /** JetStream store directory. */
  readonly storeDir: string;
  /** Process id. */
  readonly pid: number;
  /** Kill the server and remove its store. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startNatsServer}. */
export interface NatsServerOptions {
  /** The nats-server binary; default `nats-server` from PATH (or `NATS_SERVER_BIN`). */
  bin?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /** Keep the store directory after stop (for debugging). */
  keepStore?: boolean;
  /** Port to use; default a free one. */
  port?: number;
  /** Loopback address to listen on; default 127.0.0.1. */
  host?: string;
  /** No auth and no TLS (benchmarks of NATS itself); default false. */
  plain?: boolean;
  /** JetStream store to use (kept at stop), e.g. that of a server stopped to restart it. */
  storeDir?: string;
  /**
   * The config to run instead of the development one, for a server of the development
   * deployment: written into the store directory beside its `trust.conf` and `account.conf`.
   */
  config?: string;
}

/** A free TCP port on `hostname`, as the kernel hands it out. */
export function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** Find the nats-server binary; throws naming what to install when it is missing. */
export function natsServerBin(): string {
  const fromEnv = Deno.env.get("NATS_SERVER_BIN");
  if (fromEnv) return fromEnv;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    try {
      const p = `${dir}/nats-server`;
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  throw new Error("Cannot find nats-server: install it with 'apt-get install -y nats-server'");
}

/** Start nats-server with JetStream; resolves once it accepts connections. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = opts.bin ?? natsServerBin();
  const storeDir = opts.storeDir ?? await Deno.makeTempDir({ prefix: "zester-nats-" });
  const keepStore = opts.keepStore ?? opts.storeDir !== undefined;
  const host = opts.host ?? "127.0.0.1";
  for (let attempt = 0;; attempt++) {
    const port = opts.port ?? freePort(host);
    let args = ["-a", host, "-p", String(port), "-js", "-sd", storeDir];
    if (!opts.plain) {
      const config = `${storeDir}/nats-server.conf`;
      await Deno.writeTextFile(`${storeDir}/trust.conf`, await devTrustConfig(storeDir));
      await Deno.writeTextFile(`${storeDir}/account.conf`, await devAccountConfig());
      await Deno.writeTextFile(config, opts.config ?? await devServerConfig(host, port, storeDir));
      args = ["-c", config];
    }
    const child = new Deno.Command(bin, {
      args: [...args, ...(opts.args ?? [])],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const logs: string[] = [];
    let ready!: () => void;
    const readyLine = new Promise<void>((r) => ready = r);
    const reading = collect(child.stderr, logs, ready);
    const up = await waitForReady(readyLine, child, 10_000);
    if (up) {
      reading.catch(() => {});
      const url = `${opts.plain ? "nats" : "tls"}://${host}:${port}`;
      if (!opts.plain) await register(url);
      return handle(child, url, port, storeDir, keepStore, reading);
    }
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await reading.catch(() => {});
    if (opts.port !== undefined || attempt >= 2) {
      if (!keepStore) await Deno.remove(storeDir, { recursive: true }).catch(() => {});
      throw new Error(`nats-server did not start on port ${port}:\n${logs.join("").slice(-2000)}`);
    }
  }
}

/** Keep the last lines of `stream` in `into`; call `ready` once the server says it is. */
async function collect(
  stream: ReadableStream<Uint8Array>,
  into: string[],
  ready: () => void,
): Promise<void> {
  const dec = new TextDecoder();
  let tail = "";
  for await (const chunk of stream) {
    const text = dec.decode(chunk, { stream: true });
    into.push(text);
    if (into.length > 200) into.splice(0, into.length - 200);
    tail += text;
    if (tail.includes(READY_LINE)) ready();
    tail = tail.slice(-READY_LINE.length);
  }
}

/** What nats-server logs once it accepts clients. */
const READY_LINE = "Server is ready";

/**
 * Whether the server logged that it is ready within `ms`. Its own log line, not a connection
 * to the port: another process may have taken the port in the meantime, and then a connection
 * succeeds while this server has exited on "address already in use".
 */
async function waitForReady(
  readyLine: Promise<void>,
  child: Deno.ChildProcess,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      readyLine.then(() => true),
      child.status.then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function handle(
  child: Deno.ChildProcess,
  url: string,
  port: number,
  storeDir: string,
  keepStore: boolean,
  reading: Promise<void>,
): NatsServer {
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5_000);
      await child.status;
      clearTimeout(timer);
      forget(url);
      await reading.catch(() => {});
      if (!keepStore) await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    })();
  return {
    url,
    port,
    storeDir,
    pid: child.pid,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
