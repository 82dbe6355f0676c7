/**
 * The levelled logger and its line encodings.
 * @module
 */

/** Log levels, lowest first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Output encodings. */
export type LogFormat = "json" | "text";
/** Extra fields on a log line. */
export type LogFields = Record<string, unknown>;

/** Where finished lines go; tests capture them, daemons write stderr. */
export type LogSink = (line: string) => void;

const encoder = new TextEncoder();
const stderrSink: LogSink = (line) => {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
};

/** A levelled logger carrying fixed fields (component, peel id…) on every line. */
export class Logger {
  readonly #rank: number;
  readonly #format: LogFormat;
  readonly #fields: LogFields;
  readonly #sink: LogSink;

  /** Create a logger; lines below `level` are dropped. */
  constructor(
    opts: { level?: LogLevel; format?: LogFormat; fields?: LogFields; sink?: LogSink } = {},
  ) {
    this.#rank = LOG_LEVELS.indexOf(opts.level ?? "info");
    this.#format = opts.format ?? "json";
    this.#fields = opts.fields ?? {};
    this.#sink = opts.sink ?? stderrSink;
  }

  /** A logger with the same settings and more fixed fields. */
  with(fields: LogFields): Logger {
    return new Logger({
      level: LOG_LEVELS[this.#rank],
      format: this.#format,
      fields: { ...this.#fields, ...fields },
      sink: this.#sink,
    });
  }

  /** A logger with the same settings whose lines pass through `fn` (redaction) first. */
  redacting(fn: (line: string) => string): Logger {
    return new Logger({
      level: LOG_LEVELS[this.#rank],
      format: this.#format,
      fields: this.#fields,
      sink: (line) => this.#sink(fn(line)),
    });
  }

  /** Log at debug level. */
  debug(msg: string, fields?: LogFields): void {
    this.#write("debug", msg, fields);
  }
  /** Log at info level. */
  info(msg: string, fields?: LogFields): void {
    this.#write("info", msg, fields);
  }
  /** Log at warn level. */
  warn(msg: string, fields?: LogFields): void {
    this.#write("warn", msg, fields);
  }
  /** Log at error level. */
  error(msg: string, fields?: LogFields): void {
    this.#write("error", msg, fields);
  }

  #write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LOG_LEVELS.indexOf(level) < this.#rank) return;
    const record: LogFields = {
      time: new Date().toISOString(),
      level,
      msg,
      ...this.#fields,
      ...fields,
    };
    for (const [k, v] of Object.entries(record)) {
      if (v instanceof Error) record[k] = v.message;
    }
    this.#sink(this.#format === "json" ? safeJson(record) : toText(record));
  }
}

function safeJson(record: LogFields): string {
  return JSON.stringify(record, (_k, v) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
    return v;
  });
}

function toText(record: LogFields): string {
  return Object.entries(record)
    .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(" ");
}
