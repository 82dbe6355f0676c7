/**
 * The broker's audit log: JSON lines, written synchronously. Each policed operation gets an
 * `intent` record before it acts and a `done` record after (a denial, decided before acting, gets
 * only the `done` one). A record carries the request id, the job id as the peel claimed it
 * (`jid_claimed`: the broker cannot verify it), a summary of the arguments (paths, argv, package
 * names and versions, units, user and environment names — never file contents, stdin or
 * environment values), the paths actually acted on, the decision and the duration. If the intent
 * record cannot be written the operation is refused: no record, no action.
 * @module
 */
import fs from "node:fs";

/** One audit record. */
export interface AuditRecord {
  time: string;
  /** `intent` before acting, `done` after (or instead, for a denial). */
  phase: "intent" | "done";
  /** The broker's pid and the request id: together they pair an intent with its outcome. */
  pid: number;
  id: number;
  /** The job id the peel gave; nothing vouches for it. */
  jid_claimed?: string;
  op: string;
  args: Record<string, unknown>;
  decision: "allow" | "deny" | "error";
  /** What the operation acted on, resolved (real paths, the user it acted as). */
  resolved?: Record<string, unknown>;
  code?: string;
  reason?: string;
  duration_ms?: number;
}

/** The audit log cannot be written: the operation that needed the record must not act. */
export class AuditError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuditError";
  }
}

/** A summary of `args` safe to keep: what was touched or run, not the data. */
export function summarize(op: string, args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = ["path", "from", "to", "target", "mode", "user", "group", "cwd", "recursive"];
  const typed = [
    "manager",
    "versions",
    "unit",
    "simulate",
    "skip_verify",
    "check",
    "id",
    "uri",
    "config",
    "zone",
    "url",
    "rev",
    "commit",
    "branch",
    "bin_env",
    "format",
    "clean",
  ];
  const accounts = ["name", "uid", "gid", "home", "shell", "system", "createhome", "purge"];
  for (const k of [...keys, ...typed, ...accounts]) {
    if (args[k] !== undefined) out[k] = args[k];
  }
  for (const k of ["argv", "names", "groups", "members", "specs", "find_links"]) {
    const v = args[k];
    if (Array.isArray(v)) out[k] = v.slice(0, 16).map((a) => String(a).slice(0, 200));
  }
  if (args.env && typeof args.env === "object") out.env = Object.keys(args.env);
  if (args.data !== undefined) {
    const d = args.data;
    out.bytes = d instanceof Uint8Array
      ? d.byteLength
      : typeof d === "string"
      ? d.length
      : undefined;
  }
  if (op === "run" && args.stdin !== undefined) out.stdin = "<given>";
  if (args.password !== undefined) out.password = "<given>";
  if (args.key instanceof Uint8Array) out.key_bytes = args.key.byteLength;
  else if (typeof args.key === "string") out.key = args.key;
  return out;
}

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;

/**
 * Appends records to the audit file, opened append-only, mode 0600, never through a symlink.
 * A failed write closes the file so the next record tries to open it again.
 */
export class AuditLog {
  readonly #path: string;
  #fd?: number;

  /** Log to `path` (opened on the first record). */
  constructor(path: string) {
    this.#path = path;
  }

  /** Write one record, whole, before returning; throws {@linkcode AuditError} when it cannot. */
  write(rec: AuditRecord): void {
    const line = new TextEncoder().encode(JSON.stringify(rec) + "\n");
    try {
      this.#fd ??= fs.openSync(this.#path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
      for (let o = 0; o < line.byteLength;) o += fs.writeSync(this.#fd, line, o);
    } catch (e) {
      this.close();
      throw new AuditError(`Audit log unwritable: "${this.#path}": ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** Close the file. */
  close(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    try {
      fs.closeSync(fd);
    } catch { /* nothing more to lose */ }
  }
}
