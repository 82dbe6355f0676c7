/**
 * Sanitizing settings files: every `!encrypted <literal>` becomes a placeholder
 * `"__ZESTER_SECRET:<id>__"` before the file is published, so `settings-files` holds no sealed
 * value and each peel receives only the secrets sealed for it. Settings files are Jinja and YAML,
 * which do not parse before rendering, so this works on the text, line by line.
 *
 * A secret's id starts with its file's path in the tree, so files with the same keys never
 * share an id: `<file>:<key path>` with the path of mapping keys above it
 * (`web/db.zy:db.users.password`), from the block indentation. Where that path cannot be known —
 * under a list item, a key written with Jinja — or is not unique in the file, the id is
 * `<file>#<line>`. Tree paths hold neither `:` nor `#`, so the two forms never meet.
 * @module
 */
import { SecretFormatError } from "./errors.ts";
import { parseSealedLiteral } from "./sealed_literal.ts";

/** The start of every placeholder. */
export const PLACEHOLDER_PREFIX = "__ZESTER_SECRET:";
const PLACEHOLDER_SUFFIX = "__";

/** The placeholder standing for secret `id`. */
export function secretPlaceholder(id: string): string {
  return `${PLACEHOLDER_PREFIX}${id}${PLACEHOLDER_SUFFIX}`;
}

/** The id of `value` when the whole string is a placeholder, else undefined. */
export function placeholderId(value: string): string | undefined {
  if (
    value.length > PLACEHOLDER_PREFIX.length + PLACEHOLDER_SUFFIX.length &&
    value.startsWith(PLACEHOLDER_PREFIX) && value.endsWith(PLACEHOLDER_SUFFIX)
  ) return value.slice(PLACEHOLDER_PREFIX.length, -PLACEHOLDER_SUFFIX.length);
  return undefined;
}

/** A sealed value taken out of a settings file. */
export interface SanitizedSecret {
  /** Its id, as in its placeholder. */
  id: string;
  /** The `zbox1:` literal, sealed to the master's key. */
  literal: string;
  /** Its line in the file (1-based). */
  line: number;
}

/** A settings file with placeholders instead of sealed values, and the values taken out. */
export interface SanitizedFile {
  /** The file's text, each sealed value replaced by its quoted placeholder. */
  text: string;
  /** The sealed values, in file order. */
  secrets: SanitizedSecret[];
}

/** One `!encrypted` value found: where it is in its line, and its key path when known. */
interface Found {
  index: number;
  start: number;
  end: number;
  path: string | undefined;
  literal: string;
}

const TAG = /^(&\S+\s+)?!encrypted(?=\s|$)/;
const BLOCK_SCALAR = /^(&\S+\s+)?(!\S+\s+)?[|>][-+0-9]*\s*(#.*)?$/;

/**
 * Replace every `!encrypted` value of the settings file `path` (as the settings tree names it)
 * with its placeholder. A value under the tag that is not a sealed literal (a plaintext, say) is
 * a {@linkcode SecretFormatError} naming the file and line, without the value.
 */
export function sanitizeSettingsFile(path: string, text: string): SanitizedFile {
  const lines = text.split("\n");
  const found = findEncrypted(path, lines);
  const seen = new Map<string, number>();
  for (const f of found) if (f.path !== undefined) seen.set(f.path, (seen.get(f.path) ?? 0) + 1);
  const secrets = found.map((f) => {
    const line = f.index + 1;
    const id = f.path !== undefined && seen.get(f.path) === 1
      ? `${path}:${f.path}`
      : `${path}#${line}`;
    const raw = lines[f.index]!;
    lines[f.index] = raw.slice(0, f.start) + JSON.stringify(secretPlaceholder(id)) +
      raw.slice(f.end);
    return { id, literal: f.literal, line };
  });
  return { text: lines.join("\n"), secrets };
}

/** Every `!encrypted` value of `lines`, with the key path of block mappings above it. */
function findEncrypted(path: string, lines: string[]): Found[] {
  const found: Found[] = [];
  // Open nodes: the column each starts at and its key (undefined: a list item, a Jinja key).
  let stack: Array<{ col: number; key: string | undefined }> = [];
  let scalarCol: number | undefined;
  lines.forEach((raw, index) => {
    const where = `${path}:${index + 1}`;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const indent = line.length - line.trimStart().length;
    const content = line.slice(indent);
    if (scalarCol !== undefined) {
      if (content === "" || indent > scalarCol) return;
      scalarCol = undefined;
    }
    if (content === "" || content.startsWith("#")) return;
    if (/^\{[%#]/.test(content)) {
      if (/!encrypted(\s|$)/.test(content)) {
        throw new SecretFormatError(
          `${where}: !encrypted on a line that starts with a Jinja tag; put the value on a line of its own`,
        );
      }
      return;
    }
    if (/^(---|\.\.\.)(\s|$)/.test(content)) {
      stack = [];
      return;
    }
    while (stack.length && stack.at(-1)!.col >= indent) stack.pop();
    let col = indent;
    let rest = content;
    for (let dash = /^-(\s+|$)/.exec(rest); dash; dash = /^-(\s+|$)/.exec(rest)) {
      stack.push({ col, key: undefined });
      col += dash[0].length;
      rest = rest.slice(dash[0].length);
    }
    const key = mappingKey(rest);
    if (key) {
      stack.push({ col, key: key.name });
      rest = rest.slice(key.length);
    }
    const value = rest.trimStart();
    const start = line.length - value.length;
    if (BLOCK_SCALAR.test(value)) {
      if (TAG.test(value)) {
        throw new SecretFormatError(
          `${where}: !encrypted on a block scalar; put the sealed value on the key's line`,
        );
      }
      scalarCol = stack.at(-1)?.col ?? indent;
      return;
    }
    const tag = TAG.exec(value);
    if (!tag) {
      if (/^[{[]/.test(value) && /!encrypted(\s|$)/.test(value)) {
        throw new SecretFormatError(
          `${where}: !encrypted inside a flow collection; write the value in block style (key: !encrypted <sealed value>)`,
        );
      }
      return;
    }
    const anchor = tag[1]?.length ?? 0;
    const after = value.slice(tag[0].length);
    const comment = after.search(/\s#/);
    const body = (comment < 0 ? after : after.slice(0, comment)).trim();
    const literal = /^(["'])(.*)\1$/.exec(body)?.[2] ?? body;
    if (literal === "") {
      throw new SecretFormatError(
        `${where}: !encrypted has no value; expected a sealed value from zester settings encrypt on the same line`,
      );
    }
    parseSealedLiteral(literal, `${where}: value under !encrypted`);
    const keys = stack.map((n) => n.key);
    found.push({
      index,
      start: start + anchor,
      end: start + tag[0].length + after.indexOf(body) + body.length,
      path: keys.length && keys.every((k) => k !== undefined) ? keys.join(".") : undefined,
      literal,
    });
  });
  return found;
}

/**
 * The block mapping key that starts `text`, with the length of `key:` and the spaces after it;
 * its name is undefined when Jinja writes it. Undefined when `text` holds no key.
 */
function mappingKey(text: string): { name: string | undefined; length: number } | undefined {
  let name: string | undefined;
  let end: number;
  const quoted = /^"((?:[^"\\]|\\.)*)"|^'((?:[^']|'')*)'/.exec(text);
  if (quoted) {
    name = quoted[2]?.replaceAll("''", "'") ?? jsonString(quoted[1]!);
    end = quoted[0].length;
    if (!/^\s*:(\s|$)/.test(text.slice(end))) return undefined;
    end = text.indexOf(":", end);
  } else {
    if (/^([[{!&*|>%@`#?]|-\s)/.test(text) && !text.startsWith("{{")) return undefined;
    end = -1;
    for (let i = 0, jinja = false; i < text.length; i++) {
      if (text.startsWith("{{", i)) jinja = true;
      else if (text.startsWith("}}", i)) jinja = false;
      else if (!jinja && text[i] === "#" && /\s/.test(text[i - 1] ?? "")) return undefined;
      else if (!jinja && text[i] === ":" && /^(\s|$)/.test(text.slice(i + 1, i + 2))) {
        end = i;
        break;
      }
    }
    if (end <= 0) return undefined;
    name = text.slice(0, end).trimEnd();
  }
  const length = end + 1 + (/^\s*/.exec(text.slice(end + 1))?.[0].length ?? 0);
  return { name: name?.includes("{{") || name?.includes("{%") ? undefined : name, length };
}

/** A double-quoted key's text, or undefined when it uses escapes JSON does not have. */
function jsonString(inner: string): string | undefined {
  try {
    return JSON.parse(`"${inner}"`);
  } catch {
    return undefined;
  }
}
