/**
 * Templates render in a Worker with no permissions: the second wall behind the safe lookups. A
 * template that got JavaScript anyway could read no file, run nothing, reach no host and touch
 * neither the broker nor NATS, which only the host holds. One worker serves a state run and ends
 * with it; it gets the state tree from the host in memory, so it needs no read permission. The
 * commands, host files and basket entries templates use (`salt['cmd.run']`,
 * `salt['file.file_exists']`, `salt['mine.get']`…) are host calls: the host checks each and runs
 * it through its {@linkcode TemplateHost} (the broker, under its policy; NATS for the basket).
 * @module
 */
import { TARGET_TYPES, type TargetType } from "../job/types.ts";
import * as s from "../schema/mod.ts";
import {
  type CallAnswer,
  type HostCall,
  type HostMessage,
  parseWorkerMessage,
  ProtocolError,
  type TemplateContext,
  type WorkerMessage,
} from "./protocol.ts";
import { TemplateError } from "./template_error.ts";

const WORKER = new URL("./worker.ts", import.meta.url);

export { TEMPLATE_MODULES } from "./modules_dir.ts";

/**
 * Start `module` (the template worker by default) as a module worker with no permissions. Needs
 * Deno's `worker-options` unstable feature, which `deno.json` enables.
 */
export function startTemplateWorker(module: URL = WORKER): Worker {
  return new Worker(module, { type: "module", deno: { permissions: "none" } });
}

/** A command's outcome, as host calls report it. */
export interface CommandResult {
  retcode: number;
  stdout: string;
  stderr: string;
}

/** Options of a command run for a template (Salt's `cmd.run` arguments). */
export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string;
  /** Seconds. */
  timeout?: number;
  runas?: string;
}

/** What the host does for templates, each under the broker's policy. */
export interface TemplateHost {
  /** Run `cmd` with `/bin/sh -c`. */
  run(cmd: string, opts: CommandOptions): Promise<CommandResult>;
  /** Whether `path` exists, and as what (`file`, `directory`, `symlink`…). */
  stat(path: string): Promise<{ exists: boolean; type?: string }>;
  /** The text of file `path`. */
  read(path: string): Promise<string>;
  /**
   * Salt's `mine.get`: basket entry `name` of the peels `tgt` (a `tgtType` expression) selects,
   * as `{peel_id: value}`. Without it, every lookup is empty, as Salt's is without a master.
   */
  basket?(tgt: string, name: string, tgtType: TargetType): Promise<Record<string, unknown>>;
}

const Path = s.string({ pattern: /^\/[^\0]*$/, expected: "an absolute path" });
const Command = s.string({ pattern: /^[^\0]+$/, expected: "a command" });
const Options = s.object({
  cwd: s.optional(Path),
  env: s.optional(s.record(s.string())),
  stdin: s.optional(s.string()),
  timeout: s.optional(s.number({ min: 0 })),
  runas: s.optional(s.string({ pattern: /^[a-z_][a-z0-9_-]*$/, expected: "a user name" })),
});

const BasketTarget = s.string({ minLength: 1, maxLength: 65536 });
const BasketName = s.string({ minLength: 1, maxLength: 256 });
const BasketTargetType = s.literal(...TARGET_TYPES);

/**
 * Check a host call's arguments (they come from the worker) and run it on `host`. Without a
 * host, basket lookups are empty and everything else fails.
 */
async function runCall(
  host: TemplateHost | undefined,
  fn: HostCall,
  args: unknown[],
): Promise<unknown> {
  if (fn === "basket.get") {
    return await host?.basket?.(
      BasketTarget.parse(args[0], "tgt"),
      BasketName.parse(args[1], "fun"),
      BasketTargetType.parse(args[2], "tgt_type"),
    ) ?? {};
  }
  if (!host) throw new Error("commands and host files are not available here");
  switch (fn) {
    case "cmd.run_all":
      return await host.run(Command.parse(args[0], "cmd"), Options.parse(args[1] ?? {}, "options"));
    case "file.stat":
      return await host.stat(Path.parse(args[0], "path"));
    case "file.read":
      return await host.read(Path.parse(args[0], "path"));
  }
}

interface Pending {
  file: string;
  resolve(output: string): void;
  reject(e: Error): void;
  /** Started once the worker is ready: its start is not the render's time. */
  timer?: ReturnType<typeof setTimeout>;
}

/** How long one render may take before the worker is ended: a template can loop forever. */
export const RENDER_TIMEOUT_MS = 60_000;

/**
 * Renders the templates of one state tree in a template worker, started at the first template
 * and ended by {@linkcode TemplateRenderer.close} (or `using`).
 */
export class TemplateRenderer implements Disposable {
  #files: () => ReadonlyMap<string, string>;
  #host?: TemplateHost;
  #tree?: ReadonlyMap<string, string>;
  #worker?: Worker;
  #ready = false;
  #channel?: { port: MessagePort; signal: Int32Array };
  #calling = false;
  #pending = new Map<number, Pending>();
  #next = 0;
  readonly #timeoutMs: number;

  /**
   * A renderer over the tree `files` returns (called once, when the worker starts). `host` runs
   * the templates' commands and host-file reads (without it, those fail); a render still running
   * after `timeoutMs` (host calls included) ends the worker and fails.
   */
  constructor(
    files: () => ReadonlyMap<string, string>,
    opts: { host?: TemplateHost; timeoutMs?: number } = {},
  ) {
    this.#files = files;
    this.#host = opts.host;
    this.#timeoutMs = opts.timeoutMs ?? RENDER_TIMEOUT_MS;
  }

  /** Render `text`, read from `file`; rejects with a {@linkcode TemplateError}. */
  render(text: string, file: string, context: TemplateContext): Promise<string> {
    // Without `{{`, `{%` or `{#` nunjucks would return the text as it is.
    if (!/\{[{%#]/.test(text)) return Promise.resolve(text);
    const worker = this.#worker ??= this.#start();
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const p: Pending = { file, resolve, reject };
      this.#pending.set(id, p);
      if (this.#ready) this.#time(p);
      worker.postMessage({ kind: "render", id, text, file, context } satisfies HostMessage);
    });
  }

  /** Give `p` the render time limit, from now. */
  #time(p: Pending): void {
    p.timer = setTimeout(
      () => this.#stop(`rendering took longer than ${this.#timeoutMs} ms`),
      this.#timeoutMs,
    );
  }

  /** End the worker; renders still running fail. */
  close(): void {
    this.#stop("the renderer was closed");
  }

  /** Same as {@linkcode TemplateRenderer.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #start(): Worker {
    const worker = startTemplateWorker();
    worker.onmessage = (e) => this.#receive(e.data);
    worker.onerror = (e) => {
      // Handled here: unhandled, a worker's error would end this process.
      e.preventDefault();
      this.#stop(`the template worker failed: ${e.message}`);
    };
    worker.onmessageerror = () => this.#stop("the template worker sent an unreadable message");
    this.#tree = this.#files();
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    this.#channel = { port: port1, signal: new Int32Array(signal) };
    worker.postMessage(
      { kind: "tree", files: this.#tree, channel: { port: port2, signal } } satisfies HostMessage,
      [port2],
    );
    return worker;
  }

  /** Run a host call and wake the worker with the answer. */
  async #call(msg: Extract<WorkerMessage, { kind: "call" }>): Promise<void> {
    const channel = this.#channel;
    let answer: CallAnswer;
    try {
      answer = { ok: true, value: await runCall(this.#host, msg.fn, msg.args) };
    } catch (e) {
      answer = { ok: false, error: (e as Error).message };
    }
    // A worker stopped meanwhile (and perhaps replaced) waits for nothing.
    if (!channel || channel !== this.#channel) return;
    this.#calling = false;
    channel.port.postMessage(answer);
    Atomics.store(channel.signal, 0, 1);
    Atomics.notify(channel.signal, 0);
  }

  #receive(data: unknown): void {
    try {
      const msg = parseWorkerMessage(data);
      if (msg.kind === "ready") {
        // Loading the worker can take seconds on a busy machine; the renders' time starts now.
        this.#ready = true;
        for (const p of this.#pending.values()) this.#time(p);
        return;
      }
      const p = this.#pending.get(msg.id);
      if (!p) throw new ProtocolError(`The template worker answered unknown request ${msg.id}`);
      if (msg.kind === "call") {
        // The worker waits for each answer: a second call at once breaks the protocol.
        if (this.#calling) throw new ProtocolError("The template worker made two calls at once");
        this.#calling = true;
        void this.#call(msg);
        return;
      }
      if (msg.kind === "failed" && msg.file !== p.file && !this.#tree?.has(msg.file)) {
        throw new ProtocolError(`The template worker blamed "${msg.file}", not in the tree`);
      }
      this.#pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.kind === "rendered") p.resolve(msg.output);
      else p.reject(new TemplateError(msg.reason, msg.file, msg.line));
    } catch (e) {
      this.#stop((e as Error).message);
    }
  }

  #stop(reason: string): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = false;
    this.#channel?.port.close();
    this.#channel = undefined;
    this.#calling = false;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new TemplateError(reason, p.file));
    }
    this.#pending.clear();
  }
}
