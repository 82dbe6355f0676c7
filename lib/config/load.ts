/**
 * Reading YAML config files: a parse error names the file, line and column; a shape error names
 * the file and the field.
 * @module
 */
import { parseDocument } from "yaml";
import { type Schema, SchemaError } from "../schema/mod.ts";

/** A config file that cannot be read, parsed or validated. */
export class ConfigError extends TypeError {
  /** The file that was being read. */
  readonly file: string;
  /** The offending field's dotted path, when the error is about one field. */
  readonly field?: string;
  /** 1-based line of a syntax error. */
  readonly line?: number;

  /** Build the error; `message` already names the file. */
  constructor(
    message: string,
    file: string,
    extra: { field?: string; line?: number } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ConfigError";
    this.file = file;
    this.field = extra.field;
    this.line = extra.line;
  }
}

/** Parse YAML `text` (from `file`) and validate it with `schema`. An empty file is `{}`. */
export function parseConfig<T>(text: string, file: string, schema: Schema<T>): T {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const at = pos ? `:${pos.line}:${pos.col}` : "";
    throw new ConfigError(
      `Cannot parse config "${file}${at}": ${
        err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")
      }`,
      file,
      { line: pos?.line },
      { cause: err },
    );
  }
  const value = doc.toJS() ?? {};
  try {
    return schema.parse(value, "");
  } catch (e) {
    if (e instanceof SchemaError) {
      throw new ConfigError(
        `Invalid config "${file}": ${e.message.replace(/^Invalid /, "")}`,
        file,
        {
          field: e.path,
        },
        { cause: e },
      );
    }
    throw e;
  }
}

/** Read and validate the config file at `path`. */
export async function loadConfig<T>(path: string, schema: Schema<T>): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ConfigError(`Cannot read config "${path}": ${why}`, path, {}, { cause: e });
  }
  return parseConfig(text, path, schema);
}

/** Parse `--config <file>` / `--config=<file>` from `args`. */
export function configPathFrom(args: string[], fallback: string): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--config" || a === "-c") return args[i + 1] ?? fallback;
    if (a.startsWith("--config=")) return a.slice("--config=".length);
  }
  return fallback;
}
