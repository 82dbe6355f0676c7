/**
 * `file.*` states over trees and whole files: `recurse` (a directory of the state tree, with
 * `clean`, `include_pat`/`exclude_pat`, `template`), `copy` and `rename` of a file on the host,
 * and `serialize` (data as JSON or YAML), with Salt's arguments and wording.
 * @module
 */
import { posix } from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import { saltMerge } from "../../lib/template/mod.ts";
import { badArg, boolArg, modeArg, needStr, oneOf, strArg } from "./args.ts";
import {
  type FileDeps,
  manageFile,
  octal,
  readText,
  stat,
  template,
  treeList,
  treeRead,
} from "./file_io.ts";

/** Python's `fnmatch` as a regular expression: `*`, `?`, `[seq]`, `[!seq]`; `/` is not special. */
function fnmatch(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    const close = ch === "[" ? glob.indexOf("]", i + 2) : -1;
    if (ch === "*") re += "[\\s\\S]*";
    else if (ch === "?") re += "[\\s\\S]";
    else if (close > 0) {
      const set = glob.slice(i + 1, close).replace(/\\/g, "\\\\");
      re += set.startsWith("!") ? `[^${set.slice(1)}]` : `[${set}]`;
      i = close;
    } else re += ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** A Salt path pattern: `E@<regex>` (searched) or a glob (on the whole relative path). */
function pathPattern(c: Chunk, key: string): ((rel: string) => boolean) | undefined {
  const v = strArg(c, key);
  if (v === undefined) return undefined;
  if (!v.startsWith("E@")) {
    const re = fnmatch(v);
    return (rel) => re.test(rel);
  }
  try {
    const re = new RegExp(v.slice(2));
    return (rel) => re.test(rel);
  } catch {
    throw badArg(c, key, "a glob or E@ and a regular expression");
  }
}

/** An absolute path argument of the host. */
function hostPath(c: Chunk, key: string): string {
  const v = needStr(c, key);
  if (!v.startsWith("/")) throw badArg(c, key, "an absolute path");
  return posix.normalize(v);
}

/** The directories `rel` lies in, nearest last (`a/b/c` → `a`, `a/b`). */
function ancestors(rel: string): string[] {
  const parts = rel.split("/").slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
}

/** Data as Salt's `file.serialize` writes it: sorted keys, JSON indented by 2, block YAML. */
function serialize(data: unknown, formatter: "json" | "yaml"): string {
  if (formatter === "yaml") return stringify(data, { sortMapEntries: true, indentSeq: false });
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as never)[k])]))
      : v;
  return JSON.stringify(sorted(data), null, 2) + "\n";
}

/** The tree, copy, rename and serialize states, bound to `deps`. */
export function treeStates(deps: FileDeps): Record<string, StateFunction> {
  const b = deps.broker;
  return {
    async recurse(c, ctx): Promise<Outcome> {
      const name = posix.normalize(c.name);
      const source = needStr(c, "source");
      if (!/^(salt|zester):\/\/./.test(source)) {
        throw badArg(c, "source", "a directory of the state tree (salt://…)");
      }
      const include = pathPattern(c, "include_pat");
      const exclude = pathPattern(c, "exclude_pat");
      const wanted = (rel: string) => (!include || include(rel)) && !exclude?.(rel);
      // `keep` (Salt: the source's mode) leaves modes as they come: tree files carry none.
      const kept = (key: string) => c.args[key] === "keep" ? undefined : modeArg(c, key);
      const fileMode = kept("file_mode");
      const dirMode = kept("dir_mode");
      const user = strArg(c, "user");
      const group = strArg(c, "group");
      const files = (await treeList(deps, source)).filter(wanted).sort();
      if (files.length === 0) {
        return {
          result: false,
          comment: `Recurse failed: no files under ${source} (after include_pat/exclude_pat)`,
          changes: {},
        };
      }
      const dirs = ["", ...new Set(files.flatMap(ancestors))].sort();
      const changes: Record<string, unknown> = {};
      const at = (rel: string) => rel ? `${name}/${rel}` : name;
      for (const rel of dirs) {
        const path = at(rel);
        const st = await stat(b, path);
        if (st.exists && st.type !== "directory") {
          return { result: false, comment: `${path} exists and is not a directory`, changes };
        }
        if (!st.exists) {
          changes[path] = { [path]: "New Dir" };
          if (!ctx.test) {
            await b.request("mkdir", {
              path,
              mode: dirMode ?? 0o755,
              parents: rel === "" && boolArg(c, "makedirs", false),
            });
          }
        } else if (dirMode !== undefined && st.mode !== dirMode) {
          changes[path] = { mode: octal(dirMode) };
          if (!ctx.test) await b.request("chmod", { path, mode: dirMode });
        }
      }
      const base = source.replace(/\/+$/, "");
      for (const rel of files) {
        const ref = `${base}/${rel}`;
        const m = await manageFile(b, at(rel), {
          content: await template(c, deps, await treeRead(deps, ref), ref),
          mode: fileMode,
          user,
          group,
        }, ctx.test);
        if (m.error) return { result: false, comment: m.error, changes };
        if (Object.keys(m.changes).length) changes[at(rel)] = m.changes;
      }
      if (boolArg(c, "clean", false)) {
        const keep = new Set([...files, ...dirs]);
        const { entries } = await b.request("list", { path: name, recursive: true }) as {
          entries: { path: string }[];
        };
        // Sorted, a directory comes before what it holds, which goes with it.
        const gone: string[] = [];
        for (const e of entries) {
          if (keep.has(e.path) || exclude?.(e.path)) continue;
          if (gone.some((g) => e.path.startsWith(`${g}/`))) continue;
          gone.push(e.path);
        }
        const removed = gone.map(at);
        if (removed.length) changes.removed = removed;
        if (!ctx.test) {
          for (const path of removed) await b.request("remove", { path, recursive: true });
        }
      }
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `The directory ${name} is in the correct state`, changes };
      }
      if (ctx.test) {
        return { result: null, comment: `The directory ${name} would be updated`, changes };
      }
      return { result: true, comment: `Recursively updated ${name}`, changes };
    },

    async copy(c, ctx): Promise<Outcome> {
      const source = hostPath(c, "source");
      let name = c.name;
      const src = await stat(b, source);
      if (!src.exists) {
        return { result: false, comment: `Source file "${source}" is not present`, changes: {} };
      }
      if (src.type !== "file") {
        return { result: false, comment: `Source "${source}" is not a file`, changes: {} };
      }
      if (boolArg(c, "subdir", false) && (await stat(b, name)).type === "directory") {
        name = posix.join(name, posix.basename(source));
      }
      const dest = await stat(b, name);
      const read = async (p: string) =>
        ((await b.request("read", { path: p })) as { data: Uint8Array }).data;
      const data = await read(source);
      let changed = true;
      let why = `The target file "${name}" exists and will not be overwritten`;
      if (dest.exists) {
        if (!boolArg(c, "force", false)) changed = false;
        else if (dest.type === "file" && equal(await read(name), data)) {
          changed = false;
          why = `The target file "${name}" is in the correct state`;
        }
      }
      if (!changed) return { result: true, comment: why, changes: {} };
      const changes = { [name]: source };
      if (ctx.test) {
        return {
          result: null,
          comment: `File "${source}" is set to be copied to "${name}"`,
          changes,
        };
      }
      const preserve = boolArg(c, "preserve", false);
      if (dest.exists && dest.type !== "file") {
        await b.request("remove", { path: name, recursive: dest.type === "directory" });
      }
      await b.request("write", {
        path: name,
        data,
        mode: preserve ? src.mode : modeArg(c, "mode"),
        user: preserve ? String(src.uid) : strArg(c, "user"),
        group: preserve ? String(src.gid) : strArg(c, "group"),
        makedirs: boolArg(c, "makedirs", false),
      });
      return { result: true, comment: `Copied "${source}" to "${name}"`, changes };
    },

    async rename(c, ctx): Promise<Outcome> {
      const source = hostPath(c, "source");
      const name = c.name;
      const [src, dest] = [await stat(b, source), await stat(b, name)];
      if (!src.exists) {
        return dest.exists
          ? {
            result: true,
            comment: `Source file "${source}" has already been moved out of place`,
            changes: {},
          }
          : { result: false, comment: `Source file "${source}" does not exist`, changes: {} };
      }
      if (dest.exists && !boolArg(c, "force", false)) {
        return {
          result: true,
          comment: `The target file "${name}" exists and will not be overwritten`,
          changes: {},
        };
      }
      const dir = posix.dirname(name);
      const parent = await stat(b, dir);
      if (!parent.exists && !boolArg(c, "makedirs", false)) {
        return {
          result: false,
          comment: `The target directory ${dir} is not present`,
          changes: {},
        };
      }
      const changes = { [name]: source };
      if (ctx.test) {
        return {
          result: null,
          comment: `File "${source}" is set to be moved to "${name}"`,
          changes,
        };
      }
      if (!parent.exists) await b.request("mkdir", { path: dir, parents: true });
      if (dest.exists) {
        await b.request("remove", { path: name, recursive: dest.type === "directory" });
      }
      await b.request("rename", { from: source, to: name });
      return { result: true, comment: `Moved "${source}" to "${name}"`, changes };
    },

    async serialize(c, ctx): Promise<Outcome> {
      const path = c.name;
      if (c.args.dataset === undefined) throw badArg(c, "dataset", "the data to serialize");
      const key = c.args.serializer !== undefined ? "serializer" : "formatter";
      const formatter = oneOf(c, key, ["json", "yaml"], "yaml");
      const st = await stat(b, path);
      if (!st.exists && !boolArg(c, "create", true)) {
        return {
          result: true,
          comment: `File ${path} is not present and is not set for creation`,
          changes: {},
        };
      }
      let data: unknown = c.args.dataset;
      if (st.exists && boolArg(c, "merge_if_exists", false)) {
        const text = await readText(b, path);
        let existing: unknown;
        try {
          existing = formatter === "json" ? JSON.parse(text) : parseYaml(text);
        } catch (e) {
          return {
            result: false,
            comment: `Cannot merge into ${path}: not ${formatter} (${(e as Error).message})`,
            changes: {},
          };
        }
        data = saltMerge(existing, data);
      }
      const m = await manageFile(b, path, {
        content: serialize(data, formatter),
        mode: modeArg(c, "mode"),
        user: strArg(c, "user"),
        group: strArg(c, "group"),
        makedirs: boolArg(c, "makedirs", false),
      }, ctx.test);
      if (m.error) return { result: false, comment: m.error, changes: {} };
      if (Object.keys(m.changes).length === 0) {
        return { result: true, comment: `File ${path} is in the correct state`, changes: {} };
      }
      if (ctx.test) {
        return {
          result: null,
          comment: `Dataset will be serialized and stored into ${path}`,
          changes: m.changes,
        };
      }
      return { result: true, comment: `File ${path} updated`, changes: m.changes };
    },
  };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}
