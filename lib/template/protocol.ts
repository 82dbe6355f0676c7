/**
 * Messages between a {@linkcode TemplateRenderer} and its template worker. The host sends the state
 * tree once, then render requests, each with an id; the worker answers each id once. The host
 * trusts nothing the worker says: {@linkcode parseWorkerMessage} checks every message.
 *
 * Host functions (such as `salt['cmd.run']` through the broker) fit the same shape later: the
 * worker sends a `call` with its own id and waits, blocked on a SharedArrayBuffer handed over with
 * the tree (nunjucks renders synchronously), for the host's answer.
 * @module
 */

/** What templates see. */
export interface TemplateContext {
  peelId: string;
  facts: Record<string, unknown>;
  settings: Record<string, unknown>;
}

/** Host to worker. */
export type HostMessage =
  | { kind: "tree"; files: ReadonlyMap<string, string> }
  | { kind: "render"; id: number; text: string; file: string; context: TemplateContext };

/** Worker to host: the answer to render request `id`. */
export type WorkerMessage =
  | { kind: "rendered"; id: number; output: string }
  | { kind: "failed"; id: number; reason: string; file: string; line?: number };

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
  throw bad(`unknown kind ${JSON.stringify(String(m.kind))}`);
}
