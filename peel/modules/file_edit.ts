/**
 * `file.*` states that edit a file's text in place, with Salt's semantics and wording:
 * `append`, `replace`, `line`, `blockreplace`, `comment`, `uncomment`, `keyvalue`. Each reads
 * the file through the broker, computes the new text in the peel, and writes it back whole.
 * @module
 */
import type { Chunk, StateFunction } from "../../lib/state/mod.ts";
import { badArg, boolArg, intArg, mapArg, needStr, oneOf, strArg } from "./args.ts";
import { editFile, type FileDeps, joinLines, splitLines, template, treeRead } from "./file_io.ts";

/**
 * A Python regular expression as JavaScript reads it: multi-line, with `extra` flags and the
 * pattern's own leading `(?i)`, `(?s)` or `(?m)`.
 */
function regexArg(c: Chunk, key: string, extra = ""): RegExp | undefined {
  const v = strArg(c, key);
  if (v === undefined) return undefined;
  const inline = /^\(\?([ims]+)\)/.exec(v);
  const flags = new Set(["m", ...extra, ...(inline?.[1] ?? "")]);
  try {
    return new RegExp(inline ? v.slice(inline[0].length) : v, [...flags].join(""));
  } catch {
    throw badArg(c, key, "a regular expression");
  }
}

const indentOf = (line: string) => /^\s*/.exec(line)![0];
const escape = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");

/** `file.line`: Salt's modes `ensure`, `replace`, `delete` and `insert`. */
function line(c: Chunk, text: string): string {
  const mode = oneOf(c, "mode", ["ensure", "replace", "delete", "insert"], "ensure");
  const content = mode === "delete" ? strArg(c, "content") : needStr(c, "content");
  const match = regexArg(c, "match") ??
    (content === undefined ? undefined : new RegExp(escape(content)));
  const before = regexArg(c, "before");
  const after = regexArg(c, "after");
  const location = strArg(c, "location");
  if (location !== undefined && !["start", "end"].includes(location)) {
    throw badArg(c, "location", "start or end");
  }
  const indent = boolArg(c, "indent", true);
  const body = splitLines(text);
  const same = (l: string | undefined) => l !== undefined && l.trim() === content!.trim();
  const shaped = (near: string | undefined) =>
    indent && near !== undefined ? indentOf(near) + content!.trimStart() : content!;
  const only = (re: RegExp, key: string): number => {
    const hits = body.flatMap((l, i) => re.test(l) ? [i] : []);
    if (hits.length !== 1) {
      throw new Error(`Found ${hits.length} expected occurrences in "${key}" expression`);
    }
    return hits[0]!;
  };
  if (mode === "delete" || mode === "replace") {
    if (!match) throw badArg(c, "match", "a regular expression (or give content)");
    if (mode === "delete") return joinLines(body.filter((l) => !match.test(l)));
    return joinLines(body.map((l) => match.test(l) && !same(l) ? shaped(l) : l));
  }
  if (mode === "insert" && location !== undefined && !before && !after) {
    if (location === "start") return same(body[0]) ? text : joinLines([content!, ...body]);
    return same(body.at(-1)) ? text : joinLines([...body, content!]);
  }
  if (before && after) {
    const a = only(after, "after");
    const b = only(before, "before");
    if (b === a + 1) body.splice(b, 0, shaped(body[a]));
    else if (b === a + 2 && !same(body[a + 1])) body[a + 1] = shaped(body[a]);
    else if (b !== a + 2) {
      throw new Error('Found more than one line between boundaries "before" and "after"');
    }
    return joinLines(body);
  }
  if (after) {
    const a = only(after, "after");
    if (!same(body[a + 1])) body.splice(a + 1, 0, shaped(body[a]));
    return joinLines(body);
  }
  if (before) {
    const b = only(before, "before");
    if (!same(body[b - 1])) body.splice(b, 0, shaped(body[b]));
    return joinLines(body);
  }
  throw badArg(
    c,
    mode === "insert" ? "location" : "after",
    mode === "insert"
      ? "start or end (or give before or after)"
      : "a regular expression (or before)",
  );
}

/** `file.blockreplace`: replace the text between two marker lines, or add the block. */
function blockreplace(c: Chunk, text: string, content: string): string {
  const start = strArg(c, "marker_start", "#-- start managed zone --");
  const end = strArg(c, "marker_end", "#-- end managed zone --");
  const newline = boolArg(c, "append_newline", true);
  const append = boolArg(c, "append_if_not_found", false);
  const prepend = boolArg(c, "prepend_if_not_found", false);
  const block = splitLines(
    newline && content && !content.endsWith("\n") ? content + "\n" : content,
  );
  const body = splitLines(text);
  const s = body.findIndex((l) => l.includes(start));
  if (s < 0) {
    const whole = [start, ...block, end];
    if (append) return joinLines([...body, ...whole]);
    if (prepend) return joinLines([...whole, ...body]);
    throw new Error("Cannot edit marked block. Markers were not found in file.");
  }
  const e = body.findIndex((l, i) => i > s && l.includes(end));
  if (e < 0) throw new Error("Unterminated marked block. End of file reached before marker_end.");
  body.splice(s + 1, e - s - 1, ...block);
  return joinLines(body);
}

/** The regex of `file.comment`/`uncomment` without its anchors, and whether it had `^`/`$`. */
function unanchored(c: Chunk): { re: string; start: boolean; end: boolean } {
  const raw = needStr(c, "regex");
  regexArg(c, "regex");
  const re = raw.replace(/^\^/, "").replace(/(?<!\\)\$$/, "");
  return { re, start: raw.startsWith("^"), end: re !== raw.replace(/^\^/, "") };
}

/** `file.comment` (`on`) or `file.uncomment`: prefix matching lines with `char`, or unprefix. */
function comment(c: Chunk, text: string, on: boolean): string {
  const char = strArg(c, "char", "#");
  const ignoreMissing = boolArg(c, "ignore_missing", false);
  const { re, start, end } = unanchored(c);
  const tail = `(?:${re})${end ? "$" : ""}`;
  const plain = new RegExp(`${start ? "^\\s*" : ""}${tail}`);
  const commented = new RegExp(`^(\\s*)(?:${escape(char)})+\\s*(?=${tail})`);
  const lines = splitLines(text);
  const isCommented = (l: string) => l.trimStart().startsWith(char);
  const todo = on
    ? lines.filter((l) => !isCommented(l) && plain.test(l))
    : lines.filter((l) => commented.test(l));
  const done = on
    ? lines.some((l) => isCommented(l) && plain.test(l.trimStart().slice(char.length)))
    : lines.some((l) => !isCommented(l) && plain.test(l));
  if (todo.length === 0) {
    if (done) return text;
    if (ignoreMissing) return text;
    throw new Error(`${re}: Pattern not found`);
  }
  return joinLines(lines.map((l) => {
    if (!todo.includes(l)) return l;
    return on ? char + l : l.replace(commented, "$1");
  }));
}

/** `file.keyvalue`: set `key` (or each of `key_values`) to its value on `key<sep>value` lines. */
function keyvalue(c: Chunk, text: string, changed: (n: number) => void): string {
  const pairs: [string, string][] = Object.entries(mapArg(c, "key_values") ?? {})
    .map(([k, v]) => [k, String(v)]);
  const key = strArg(c, "key");
  if (key !== undefined) pairs.push([key, needStr(c, "value")]);
  if (pairs.length === 0) throw badArg(c, "key", "a key (with value), or give key_values");
  const sep = strArg(c, "separator", "=");
  if (!sep.trim()) throw badArg(c, "separator", "a separator other than blanks");
  const uncomment = strArg(c, "uncomment");
  const count = intArg(c, "count", { min: 0 }) ?? 1;
  const keyCase = boolArg(c, "key_ignore_case", false);
  const valueCase = boolArg(c, "value_ignore_case", false);
  const append = boolArg(c, "append_if_not_found", false);
  const prepend = boolArg(c, "prepend_if_not_found", false);
  const eq = (a: string, b: string, fold: boolean) =>
    fold ? a.toLowerCase() === b.toLowerCase() : a === b;
  const seen = new Map<string, number>();
  let n = 0;
  const lines = splitLines(text).map((l) => {
    let t = l.trim();
    const wasCommented = uncomment !== undefined && t.startsWith(uncomment);
    if (wasCommented) t = t.slice(uncomment!.length).trim();
    const i = t.indexOf(sep.trim());
    if (i < 0) return l;
    const k = t.slice(0, i).trim();
    const v = t.slice(i + sep.trim().length).trim();
    const pair = pairs.find(([pk]) => eq(pk, k, keyCase));
    if (!pair) return l;
    const hits = seen.get(pair[0]) ?? 0;
    seen.set(pair[0], hits + 1);
    if (count !== 0 && hits >= count) return l;
    if (eq(v, pair[1], valueCase) && !wasCommented) return l;
    n++;
    return `${k}${sep}${pair[1]}`;
  });
  const missing = pairs.filter(([k]) => !seen.has(k)).map(([k, v]) => `${k}${sep}${v}`);
  if (append) lines.push(...missing);
  else if (prepend) lines.unshift(...missing);
  else missing.length = 0;
  n += missing.length;
  changed(n);
  return joinLines(lines);
}

/** The file states that edit text in place, bound to `deps`. */
export function editStates(deps: FileDeps): Record<string, StateFunction> {
  const b = deps.broker;
  return {
    append: (c, ctx) => {
      const raw = c.args.text ?? c.args.sources;
      const wanted = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
      let missing = 0;
      return editFile(b, c, ctx, (text) => {
        const have = new Set(text.split("\n"));
        const add = wanted.filter((l) => !l.split("\n").every((x) => have.has(x)));
        missing = add.length;
        if (!add.length) return text;
        return (text && !text.endsWith("\n") ? text + "\n" : text) + add.join("\n") + "\n";
      }, {
        create: true,
        words: () => ({
          none: `File ${c.name} is in correct state`,
          would: `File ${c.name} is set to be updated`,
          done: `Appended ${missing} lines`,
        }),
      });
    },

    replace: (c, ctx) => {
      const re = regexArg(c, "pattern", "g");
      if (!re) throw badArg(c, "pattern", "a regular expression");
      const repl = needStr(c, "repl").replace(/\\(\d)/g, "$$$1"); // Python's \1 is JavaScript's $1.
      const count = intArg(c, "count", { min: 0 }) ?? 0;
      return editFile(b, c, ctx, (text) => {
        let n = 0;
        return text.replace(re, (...m) => {
          if (count > 0 && n >= count) return m[0];
          n++;
          return (m[0] as string).replace(new RegExp(re.source, re.flags.replace("g", "")), repl);
        });
      });
    },

    line: (c, ctx) =>
      editFile(b, c, ctx, (text) => line(c, text), { create: boolArg(c, "create", false) }),

    blockreplace: async (c, ctx) => {
      let content = strArg(c, "content", "");
      const ref = strArg(c, "source");
      if (ref !== undefined) content = await template(c, deps, await treeRead(deps, ref), ref);
      return await editFile(b, c, ctx, (text) => blockreplace(c, text, content));
    },

    comment: (c, ctx) =>
      editFile(b, c, ctx, (text) => comment(c, text, true), {
        words: () => ({
          none: "Pattern already commented",
          would: `File ${c.name} is set to be updated`,
          done: "Commented lines successfully",
        }),
      }),

    uncomment: (c, ctx) =>
      editFile(b, c, ctx, (text) => comment(c, text, false), {
        words: () => ({
          none: "Pattern already uncommented",
          would: `File ${c.name} is set to be updated`,
          done: "Uncommented lines successfully",
        }),
      }),

    keyvalue: async (c, ctx) => {
      const st = await b.request("stat", { path: c.name }) as { exists: boolean };
      if (!st.exists && boolArg(c, "ignore_if_missing", false)) {
        return { result: true, comment: `${c.name} not found, ignored`, changes: {} };
      }
      let n = 0;
      return await editFile(b, c, ctx, (text) => keyvalue(c, text, (x) => n = x), {
        create: boolArg(c, "create_if_missing", false),
        words: () => ({
          none: "No changes needed to be made",
          would: `File ${c.name} is set to be updated`,
          done: `Changed ${n} lines`,
        }),
      });
    },
  };
}
