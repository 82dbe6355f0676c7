/**
 * Reading YAML config files: a parse error names the file, line and column; a shape error names
 * the file and the field.
 * @module
 */
import { type Document, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { isPlainObject, type Schema, SchemaError } from "../schema/mod.ts";
import type { PlannedKey } from "./planned.ts";

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

/** A value given on a daemon's command line, over the file's. */
export interface Override {
  /** Dotted key (`nats_url`, `reactor.workers`). */
  readonly key: string;
  /** The value, already in the shape the key's schema accepts. */
  readonly value: unknown;
  /** The flag that gave it, named in errors (`--nats-url`). */
  readonly flag: string;
}

/** A planned key that was given: where, and the feature it waits for. */
export interface PlannedNotice {
  /** Dotted key. */
  readonly key: string;
  /** `file:line` or the flag that gave it. */
  readonly source: string;
  /** The feature it waits for. */
  readonly waitsFor: string;
}

/** How {@linkcode parseConfig} treats keys beyond the schema's. */
export interface ConfigOptions {
  /** Documented keys not built yet: validated, then reported through `onPlanned` and dropped. */
  readonly planned?: readonly PlannedKey[];
  /** Values over the file's (daemon flags). */
  readonly overrides?: readonly Override[];
  /** Called for each planned key given. */
  readonly onPlanned?: (notice: PlannedNotice) => void;
}

/**
 * Parse YAML `text` (from `file`), apply `overrides`, set planned keys aside and validate the
 * rest with `schema`. An empty file is `{}`. A bad value names the file, line and field, or the
 * flag that gave it.
 */
export function parseConfig<T>(
  text: string,
  file: string,
  schema: Schema<T>,
  opts: ConfigOptions = {},
): T {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
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
  const overrides = opts.overrides ?? [];
  const flagOf = (path: string) =>
    overrides.find((o) => path === o.key || path.startsWith(`${o.key}.`))?.flag;
  const value = doc.toJS() ?? {};
  try {
    if (isPlainObject(value)) {
      for (const o of overrides) setPath(value, o.key, o.value);
      setPlannedAside(value, schema, opts.planned ?? [], (key, waitsFor) =>
        opts.onPlanned?.({
          key,
          source: flagOf(key) ?? `${file}${lineSuffix(lineOf(doc, lines, key))}`,
          waitsFor,
        }));
    }
    return schema.parse(value, "");
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    const flag = flagOf(e.path);
    const what = e.message.replace(/^Invalid /, "");
    if (flag) {
      throw new ConfigError(
        `Invalid flag ${flag}: ${what.replace(/^field "[^"]*": /, "")}`,
        file,
        { field: e.path },
        { cause: e },
      );
    }
    const line = lineOf(doc, lines, e.path);
    throw new ConfigError(
      `Invalid config "${file}${lineSuffix(line)}": ${what}`,
      file,
      { field: e.path, line },
      { cause: e },
    );
  }
}

function lineSuffix(line: number | undefined): string {
  return line === undefined ? "" : `:${line}`;
}

/** The 1-based line where the field at dotted `path` (`broker.exec[0].args`) is written. */
function lineOf(doc: Document, lines: LineCounter, path: string): number | undefined {
  if (path === "") return undefined;
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const seg of path.split(/\.|(?=\[)/)) {
    const index = /^\[(\d+)\]$/.exec(seg);
    if (index && isSeq(node)) {
      node = node.items[Number(index[1])];
      offset = isNode(node) ? node.range?.[0] : undefined;
    } else if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) break;
      offset = isNode(pair.key) ? pair.key.range?.[0] : offset;
      node = pair.value;
    } else break;
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let at = obj;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(at[part])) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
}

/**
 * Validate and remove the planned keys of `value`, calling `found` for each. A planned section
 * (`reactor:`) the schema does not have may hold only planned keys: another is unknown.
 */
function setPlannedAside(
  value: Record<string, unknown>,
  schema: Schema<unknown>,
  planned: readonly PlannedKey[],
  found: (key: string, waitsFor: string) => void,
): void {
  const sections = new Map<string, string[]>();
  for (const p of planned) {
    const parts = p.key.split(".");
    const last = parts.pop()!;
    if (parts.length) {
      const known = sections.get(parts[0]!) ?? [];
      sections.set(parts[0]!, [...known, p.key.slice(parts[0]!.length + 1)]);
    }
    let parent: unknown = value;
    for (const part of parts) parent = isPlainObject(parent) ? parent[part] : undefined;
    if (!isPlainObject(parent) || parent[last] === undefined) continue;
    const given = parent[last] !== null;
    if (given) p.schema.parse(parent[last], p.key);
    delete parent[last];
    if (given) found(p.key, p.waitsFor);
  }
  for (const [section, keys] of sections) {
    if (schema.shape && section in schema.shape) continue;
    const v = value[section];
    if (v === undefined || v === null) {
      delete value[section];
      continue;
    }
    if (!isPlainObject(v)) throw new SchemaError(section, "a map", v);
    const extra = Object.keys(v)[0];
    if (extra !== undefined) {
      throw new SchemaError(
        `${section}.${extra}`,
        `no such key (known keys: ${keys.join(", ")})`,
        v[extra],
      );
    }
    delete value[section];
  }
}

/** Read and validate the config file at `path`. */
export async function loadConfig<T>(
  path: string,
  schema: Schema<T>,
  opts: ConfigOptions = {},
): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ConfigError(`Cannot read config "${path}": ${why}`, path, {}, { cause: e });
  }
  return parseConfig(text, path, schema, opts);
}
