/**
 * Messages between a {@linkcode TemplatePool} and its template worker. The host sends the call
 * channel once, each state or settings tree once under a key (naming the trees the worker may
 * drop), then render requests, each with an id and its tree's key, one at a time; the worker
 * answers each id once. The host trusts nothing the worker says: {@linkcode parseWorkerMessage}
 * checks every message.
 *
 * Host calls (`salt['cmd.run']`, `salt['file.file_exists']`…, which need the broker): the worker
 * posts a `call` naming one of {@linkcode HOST_CALLS} and blocks on a SharedArrayBuffer handed
 * over with the channel (nunjucks renders synchronously); the host runs it under the broker's
 * policy, posts the {@linkcode CallAnswer} on a MessagePort also handed over with the channel, and
 * wakes the worker, which takes the answer from the port synchronously.
 * @module
 */

/** What templates see. */
export interface TemplateContext {
  peelId: string;
  facts: Record<string, unknown>;
  settings: Record<string, unknown>;
  /** Salt's `opts` as formulas read them (`id`, `__cli`, `file_client`…). */
  opts?: Record<string, unknown>;
  /** The SLS the template belongs to (`web.config`), for Salt's `sls`, `slspath`… */
  sls?: string;
  /** More variables: a `file.managed` template's `defaults` and `context`. */
  vars?: Record<string, unknown>;
}

/**
 * The operations a template may ask of its host: primitives the Salt functions in templates are
 * built on (`cmd.run`, `cmd.retcode`… on `cmd.run_all`; `file.file_exists`… on `file.stat`;
 * `mine.get` and `basket()` on `basket.get`).
 */
export const HOST_CALLS = ["cmd.run_all", "file.stat", "file.read", "basket.get"] as const;
/** One of {@linkcode HOST_CALLS}. */
export type HostCall = typeof HOST_CALLS[number];

/** The channel host calls use: a port for answers and a word to wait on. */
export interface CallChannel {
  port: MessagePort;
  signal: SharedArrayBuffer;
}

/** Host to worker. */
export type HostMessage =
  | { kind: "channel"; channel: CallChannel }
  | { kind: "tree"; key: string; files: ReadonlyMap<string, string>; drop: string[] }
  | {
    kind: "render";
    id: number;
    tree: string;
    text: string;
    file: string;
    context: TemplateContext;
  };

/**
 * Worker to host: loaded, with the tree (`ready`); the answer to render request `id`, or a host
 * call made while rendering it.
 */
export type WorkerMessage =
  | { kind: "ready" }
  | { kind: "rendered"; id: number; output: string }
  | { kind: "failed"; id: number; reason: string; file: string; line?: number }
  | { kind: "call"; id: number; fn: HostCall; args: unknown[] };

/** The host's answer to a call, posted on the channel's port. */
export type CallAnswer = { ok: true; value: unknown } | { ok: false; error: string };

/** A message from the template worker that breaks the protocol. */
export class ProtocolError extends TypeError {
  /** Build the error. */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** Check `data`, a message from the worker; throws {@linkcode ProtocolError} when it is not one. */
export function parseWorkerMessage(data: unknown): WorkerMessage {
  const m = (data ?? {}) as Record<string, unknown>;
  const bad = (why: string) =>
    new ProtocolError(`Invalid message from the template worker: ${why}`);
  if (typeof data !== "object" || data === null) throw bad("expected an object");
  if (m.kind === "ready") return { kind: "ready" };
  if (!Number.isSafeInteger(m.id)) throw bad(`"id" must be an integer`);
  if (m.kind === "rendered") {
    if (typeof m.output !== "string") throw bad(`"output" must be a string`);
    return { kind: "rendered", id: m.id as number, output: m.output };
  }
  if (m.kind === "failed") {
    if (typeof m.reason !== "string") throw bad(`"reason" must be a string`);
    if (typeof m.file !== "string") throw bad(`"file" must be a string`);
    if (m.line !== undefined && !(Number.isSafeInteger(m.line) && (m.line as number) > 0)) {
      throw bad(`"line" must be a positive integer`);
    }
    return {
      kind: "failed",
      id: m.id as number,
      reason: m.reason,
      file: m.file,
      line: m.line as number | undefined,
    };
  }
  if (m.kind === "call") {
    if (!(HOST_CALLS as readonly unknown[]).includes(m.fn)) {
      throw bad(`unknown host call ${JSON.stringify(String(m.fn))}`);
    }
    if (!Array.isArray(m.args)) throw bad(`"args" must be a list`);
    return { kind: "call", id: m.id as number, fn: m.fn as HostCall, args: m.args };
  }
  throw bad(`unknown kind ${JSON.stringify(String(m.kind))}`);
}
