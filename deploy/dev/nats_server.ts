/**
 * Starts a throwaway `nats-server` with JetStream on a free loopback port and a temp store, for
 * the quickstart, the tests and the benchmarks. Stopping it kills the process and removes the
 * store.
 *
 * @example
 * ```ts
 * import { startNatsServer } from "./nats_server.ts";
 * await using ns = await startNatsServer();
 * console.log(ns.url); // nats://127.0.0.1:41234
 * ```
 * @module
 */

/** A running nats-server. */
export interface NatsServer extends AsyncDisposable {
  /** Client URL (`nats://127.0.0.1:<port>`). */
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
  /** JetStream store to use (kept at stop), e.g. that of a server stopped to restart it. */
  storeDir?: string;
}

/** A free TCP port on 127.0.0.1, as the kernel hands it out. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
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
  for (let attempt = 0;; attempt++) {
    const port = opts.port ?? freePort();
    const child = new Deno.Command(bin, {
      args: ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir, ...(opts.args ?? [])],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const logs: string[] = [];
    const reading = collect(child.stderr, logs);
    const up = await waitForPort(port, child, 10_000);
    if (up) {
      reading.catch(() => {});
      return handle(child, port, storeDir, keepStore, reading);
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

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const dec = new TextDecoder();
  for await (const chunk of stream) {
    into.push(dec.decode(chunk, { stream: true }));
    if (into.length > 200) into.splice(0, into.length - 200);
  }
}

async function waitForPort(port: number, child: Deno.ChildProcess, ms: number): Promise<boolean> {
  let exited = false;
  child.status.then(() => exited = true);
  const until = Date.now() + ms;
  while (Date.now() < until && !exited) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return false;
}

function handle(
  child: Deno.ChildProcess,
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
      await reading.catch(() => {});
      if (!keepStore) await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    })();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    pid: child.pid,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
