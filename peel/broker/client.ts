/**
 * The peel's side of the broker: spawns the broker's fixed launcher on the first request, keeps
 * it while requests are in flight, and lets it exit after an idle timeout, so an idle peel is one
 * process. If the broker dies, in-flight requests fail with `broker_crashed` and the next request
 * starts a fresh one.
 * @module
 */
import type { Logger } from "../../lib/log/mod.ts";
import {
  BrokerError,
  BrokerResponseSchema,
  decodeBody,
  encodeFrame,
  readFrames,
} from "./protocol.ts";

export { BrokerError } from "./protocol.ts";

/** Options for {@linkcode BrokerClient}. */
export interface BrokerClientOptions {
  /** The launcher: the only program the peel may run. */
  launcher: string;
  /** Program arguments for the launcher (data for the broker, never Deno flags). */
  args?: string[];
  /** Close the broker after this long with nothing in flight. */
  idleTimeoutMs: number;
  /** Where broker lifecycle events and its stderr go. */
  log: Logger;
  /** Told of each answered or failed request (for metrics). */
  onDone?: (op: string, error?: BrokerError) => void;
}

interface Pending {
  op: string;
  resolve: (v: unknown) => void;
  reject: (e: BrokerError) => void;
  timer?: ReturnType<typeof setTimeout>;
  /** Removes the request's abort listener, so a long-lived signal does not collect them. */
  unlisten?: () => void;
}

interface Session {
  child: Deno.ChildProcess;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  pending: Map<number, Pending>;
  done: Promise<void>;
}

/** Grace past a request's own timeout before the client gives up on the broker. */
const CLIENT_GRACE_MS = 2_000;

/** The broker as functions, state modules and templates use it: one typed request per privileged operation. */
export interface Broker {
  /** Send `op` with `args`; rejects with the broker's typed error. */
  request(
    op: string,
    args: Record<string, unknown>,
    opts?: { timeoutMs?: number; jid?: string; signal?: AbortSignal },
  ): Promise<unknown>;
}

/** Sends operations to a broker process it manages. */
export class BrokerClient implements Broker {
  readonly #opts: BrokerClientOptions;
  #session?: Session;
  #nextId = 1;
  #idle?: ReturnType<typeof setTimeout>;

  /** Create a client; nothing is spawned until the first request. */
  constructor(opts: BrokerClientOptions) {
    this.#opts = opts;
  }

  /** Whether a broker process is running. */
  get running(): boolean {
    return this.#session !== undefined;
  }

  /** The broker's pid, when running. */
  get pid(): number | undefined {
    return this.#session?.child.pid;
  }

  /** Send `op` and wait for its result; rejects with {@linkcode BrokerError}. */
  request(
    op: string,
    args: Record<string, unknown>,
    opts: { timeoutMs?: number; jid?: string; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    if (opts.signal?.aborted) {
      return Promise.reject(new BrokerError("canceled", "Request canceled before it was sent"));
    }
    let session: Session;
    try {
      session = this.#session ?? this.#spawn();
    } catch (e) {
      const error = new BrokerError(
        "broker_crashed",
        `Cannot start the broker: ${(e as Error).message}`,
      );
      this.#opts.onDone?.(op, error);
      return Promise.reject(error);
    }
    clearTimeout(this.#idle);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const entry: Pending = { op, resolve, reject };
      session.pending.set(id, entry);
      if (opts.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.#settle(
            session,
            id,
            new BrokerError("timeout", `Broker did not answer "${op}" in time`),
          );
        }, opts.timeoutMs + CLIENT_GRACE_MS);
      }
      const signal = opts.signal;
      if (signal) {
        const onAbort = () => {
          this.#write(session, { id: this.#nextId++, op: "cancel", args: { target: id } });
          this.#settle(session, id, new BrokerError("canceled", `Request "${op}" was canceled`));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        entry.unlisten = () => signal.removeEventListener("abort", onAbort);
      }
      this.#write(session, { id, op, args, timeout_ms: opts.timeoutMs, jid: opts.jid });
    });
  }

  /** Close the broker's stdin and wait for it to exit. */
  async close(): Promise<void> {
    clearTimeout(this.#idle);
    const s = this.#session;
    if (!s) return;
    await s.writer.close().catch(() => {});
    await s.done;
  }

  #spawn(): Session {
    const child = new Deno.Command(this.#opts.launcher, {
      args: this.#opts.args ?? [],
      // Nothing of the peel's environment reaches the broker: a compiled broker has no launcher
      // script to wipe it, so the spawn itself starts from an empty one.
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const session: Session = {
      child,
      writer: child.stdin.getWriter(),
      pending: new Map(),
      done: Promise.resolve(),
    };
    this.#session = session;
    const log = this.#opts.log.with({ broker_pid: child.pid });
    log.debug("broker started");
    const reading = this.#readResponses(session, log);
    const relaying = relayStderr(child.stderr, log);
    session.done = (async () => {
      const status = await child.status;
      await Promise.allSettled([reading, relaying]);
      if (this.#session === session) this.#session = undefined;
      const why = status.signal ? `killed by ${status.signal}` : `exited with code ${status.code}`;
      if (session.pending.size) log.error("broker died with requests in flight", { why });
      else log.debug("broker exited", { why });
      for (const id of [...session.pending.keys()]) {
        this.#settle(session, id, new BrokerError("broker_crashed", `Broker ${why}`));
      }
    })();
    return session;
  }

  async #readResponses(session: Session, log: Logger): Promise<void> {
    try {
      for await (const body of readFrames(session.child.stdout)) {
        let res;
        try {
          res = BrokerResponseSchema.parse(decodeBody(body));
        } catch (e) {
          log.error("malformed frame from broker", { error: e });
          continue;
        }
        if (res.ok) this.#settle(session, res.id, undefined, res.result);
        else if (res.id === 0) log.warn("broker reported an error", { error: res.error.message });
        else this.#settle(session, res.id, new BrokerError(res.error.code, res.error.message));
      }
    } catch (e) {
      log.error("broker output unreadable", { error: e });
      try {
        session.child.kill("SIGKILL");
      } catch { /* gone */ }
    }
  }

  #write(session: Session, frame: Record<string, unknown>): void {
    session.writer.write(encodeFrame(frame)).catch(() => {
      // The broker is gone; its exit handler fails the pending requests.
    });
  }

  #settle(session: Session, id: number, error?: BrokerError, result?: unknown): void {
    const p = session.pending.get(id);
    if (!p) return;
    session.pending.delete(id);
    clearTimeout(p.timer);
    p.unlisten?.();
    this.#opts.onDone?.(p.op, error);
    if (error) p.reject(error);
    else p.resolve(result);
    if (session.pending.size === 0 && this.#session === session) {
      clearTimeout(this.#idle);
      this.#idle = setTimeout(() => {
        if (session.pending.size === 0) session.writer.close().catch(() => {});
      }, this.#opts.idleTimeoutMs);
    }
  }
}

async function relayStderr(stream: ReadableStream<Uint8Array>, log: Logger): Promise<void> {
  const dec = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += dec.decode(chunk, { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) log.debug("broker", { line });
  }
  if (rest.trim()) log.debug("broker", { line: rest });
}
