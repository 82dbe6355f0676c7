/**
 * The peel's last step: placeholders in rendered settings become the values opened from its own
 * `secrets` record, and the other way round for anything shown or logged.
 * @module
 */
import { isPlainObject } from "../schema/mod.ts";
import { SecretFormatError, SecretOpenError } from "./errors.ts";
import type { OpenedSecrets } from "./peel_secrets.ts";
import { PLACEHOLDER_PREFIX, placeholderId } from "./sanitize.ts";

/** What {@linkcode redactSecrets} puts in place of a secret. */
export const REDACTED = "<sealed>";

/** Rewrites one string found at `path` of a value; `key` when it is a map key. */
type StringFn = (text: string, path: string, key: boolean) => string;

/** Apply `fn` to every string of `value`, map keys included, building a new value. */
function mapStrings(value: unknown, fn: StringFn, path = ""): unknown {
  if (typeof value === "string") return fn(value, path, false);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, fn, `${path}[${i}]`));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const at = path === "" ? k : `${path}.${k}`;
      out[fn(k, at, true)] = mapStrings(v, fn, at);
    }
    return out;
  }
  return value;
}

/**
 * `settings` with every placeholder replaced by its opened value. A placeholder whose secret is
 * missing from `opened` is a {@linkcode SecretOpenError} naming its id; a placeholder inside a
 * longer string or a key is a {@linkcode SecretFormatError}: placeholders are terminal values only.
 * Nothing is returned unless every placeholder was replaced.
 */
export function substituteSecrets<T>(settings: T, opened: OpenedSecrets): T {
  return mapStrings(settings, (text, path, key) => {
    if (!text.includes(PLACEHOLDER_PREFIX)) return text;
    const id = placeholderId(text);
    if (id === undefined || key) {
      throw new SecretFormatError(
        `Settings "${path}" holds a secret placeholder inside a ${
          key ? "key" : "longer string"
        }: placeholders are terminal values only`,
      );
    }
    const value = Object.hasOwn(opened, id) ? opened[id] : undefined;
    if (value === undefined) {
      throw new SecretOpenError(
        `Settings "${path}" needs secret "${id}", which this peel cannot open: it is missing from its secrets record`,
      );
    }
    return value;
  }) as T;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/**
 * `value` with every occurrence of an opened secret in its strings (map keys included) replaced
 * by `<sealed>`: for logs, job returns and `zester settings show`.
 */
export function redactSecrets<T>(value: T, opened: OpenedSecrets): T {
  const secrets = [...new Set(Object.values(opened))].filter((v) => v !== "")
    .sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return value;
  const pattern = new RegExp(secrets.map(escapeRegExp).join("|"), "g");
  return mapStrings(value, (text) => text.replace(pattern, REDACTED)) as T;
}
