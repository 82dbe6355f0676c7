/**
 * The broker's audit log: one JSON line per operation, allowed or denied, with the job id, a
 * summary of the arguments (paths, argv, package names and versions, units, user and environment
 * names — never file contents, stdin or environment values), the decision and the duration.
 * @module
 */

/** One audit record. */
export interface AuditRecord {
  time: string;
  jid?: string;
  op: string;
  args: Record<string, unknown>;
  decision: "allow" | "deny" | "error";
  code?: string;
  reason?: string;
  duration_ms: number;
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
  ];
  const accounts = ["name", "uid", "gid", "home", "shell", "system", "createhome", "purge"];
  for (const k of [...keys, ...typed, ...accounts]) {
    if (args[k] !== undefined) out[k] = args[k];
  }
  for (const k of ["argv", "names", "groups", "members"]) {
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

/** Appends records to the audit file; falls back to stderr when it cannot be written. */
export class AuditLog {
  readonly #path: string;
  #file?: Deno.FsFile;
  #failed = false;

  /** Log to `path` (opened on the first record, append-only, mode 0600). */
  constructor(path: string) {
    this.#path = path;
  }

  /** Write one record. */
  write(rec: AuditRecord): void {
    const line = new TextEncoder().encode(JSON.stringify(rec) + "\n");
    try {
      if (!this.#failed) {
        this.#file ??= Deno.openSync(this.#path, { append: true, create: true, mode: 0o600 });
        this.#file.writeSync(line);
        return;
      }
    } catch (e) {
      this.#failed = true;
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          JSON.stringify({
            level: "error",
            msg: "cannot write audit log",
            path: this.#path,
            error: String(e),
          }) +
            "\n",
        ),
      );
    }
    Deno.stderr.writeSync(line);
  }

  /** Close the file. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
