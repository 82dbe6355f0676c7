/**
 * `archive.extracted`: a tar or zip archive extracted into a directory, with Salt's arguments
 * (`source` from the state tree, the host or an http(s) URL the policy's `fetch` lists, with
 * `source_hash`; `archive_format`, `enforce_toplevel`, `if_missing`, `user`/`group`, `clean`,
 * `overwrite`, `trim_output`). As Salt decides since 2016.11, the archive is extracted when one
 * of its members is missing under `name` (each present with its type means done; contents are
 * not compared), or always with `overwrite`. The broker lists, checks and extracts it.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { Broker, ListedMember } from "../broker/mod.ts";
import { badArg, boolArg, intArg, needStr, strArg } from "./args.ts";
import { type FileDeps, stat, treeBytes } from "./file_io.ts";

const TIMEOUT_MS = 900_000;
/** Option letters and flags of Salt's `options` that say what tar finds out by itself. */
const IDLE_OPTIONS = /^(-?[xvzjJf]+|--verbose|--gzip|--bzip2|--xz)$/;

/** The `source` as the broker takes it, and its hash. */
function sourceArgs(c: Chunk, deps: FileDeps): Record<string, unknown> {
  const source = needStr(c, "source");
  const out: Record<string, unknown> = {};
  if (/^(salt|zester):\/\/./.test(source)) out.data = treeBytes(deps, source);
  else if (/^https?:\/\//.test(source)) out.url = source;
  else if (source.startsWith("/") || source.startsWith("file:///")) {
    out.path = source.replace(/^file:\/\//, "");
  } else {
    throw badArg(c, "source", "salt://…, an absolute path, file:///… or an http(s) URL");
  }
  const hash = strArg(c, "source_hash");
  if (hash !== undefined) {
    const m = /^(?:(md5|sha1|sha256|sha512)=)?([0-9a-f]+)$/i.exec(hash.trim());
    const alg = m?.[1]?.toLowerCase() ??
      ({ 32: "md5", 40: "sha1", 64: "sha256", 128: "sha512" } as Record<number, string>)[
        m?.[2]?.length ?? 0
      ];
    if (!m || !alg) throw badArg(c, "source_hash", "<type>=<hex> (md5, sha1, sha256, sha512)");
    out.hash = { alg, hex: m[2]!.toLowerCase() };
  } else if (out.url !== undefined) {
    throw badArg(c, "source_hash", "given for an http(s) source");
  }
  return out;
}

/** `archive_format`, or the one the source's name says. */
function format(c: Chunk, source: string): "tar" | "zip" {
  const given = strArg(c, "archive_format");
  if (given === "tar" || given === "zip") return given;
  if (given !== undefined) throw badArg(c, "archive_format", "tar or zip");
  if (/\.zip$/i.test(source)) return "zip";
  if (/\.(tar|tgz|tbz2?|txz|tar\.(gz|bz2|xz))$/i.test(source)) return "tar";
  throw badArg(c, "archive_format", "tar or zip (the source's name does not say)");
}

/** `trim_output`: True keeps 100 names, a number that many; undefined keeps all. */
function trimArg(c: Chunk): number | undefined {
  const v = c.args.trim_output;
  if (v === undefined || v === false || v === null || v === "False") return undefined;
  if (v === true || v === "True") return 100;
  return intArg(c, "trim_output", { min: 1 });
}

/** The `archive` state module. */
export function archiveStates(deps: FileDeps): Record<string, StateFunction> {
  const b: Broker = deps.broker;
  return {
    async extracted(c, ctx): Promise<Outcome> {
      const name = c.name.replace(/(.)\/+$/, "$1");
      if (!name.startsWith("/")) throw badArg(c, "name", "an absolute path");
      const source = needStr(c, "source");
      for (const o of (strArg(c, "options") ?? "").split(/\s+/).filter(Boolean)) {
        if (!IDLE_OPTIONS.test(o)) {
          throw badArg(c, "options", "tar's x, v, z, j, J, f (compression is detected)");
        }
      }
      const user = strArg(c, "user");
      const group = strArg(c, "group");
      const overwrite = boolArg(c, "overwrite", false);
      const clean = boolArg(c, "clean", false);
      const enforceTop = boolArg(c, "enforce_toplevel", true);
      const ifMissing = strArg(c, "if_missing");
      const keep = trimArg(c);
      const req = {
        ...sourceArgs(c, deps),
        format: format(c, source),
        dest: name,
        user,
        group,
      };
      if (ifMissing !== undefined && (await stat(b, ifMissing)).exists) {
        return { result: true, comment: `${ifMissing} exists`, changes: {} };
      }
      const { members, dest_exists } = await b.request("archive.list", req, {
        timeoutMs: TIMEOUT_MS,
      }) as { members: ListedMember[]; dest_exists: boolean };
      const tops = [...new Set(members.map((m) => m.path.split("/")[0]!))];
      const topFiles = members.filter((m) => !m.path.includes("/") && m.type !== "dir");
      if (enforceTop && (tops.length !== 1 || topFiles.length > 0)) {
        return {
          result: false,
          comment: "Archive does not have a single top-level directory. To allow this " +
            "archive to be extracted, set 'enforce_toplevel' to False. To avoid a " +
            `'${req.format}-bomb' it may also be advisable to set a top-level directory by ` +
            `adding it to the 'name' value (for example, setting 'name' to ${name}/some_dir ` +
            `instead of ${name}).`,
          changes: {},
        };
      }
      const wrong = members.filter((m) => m.at === "other").map((m) => m.path);
      if (wrong.length && !clean) {
        return {
          result: false,
          comment: `The below paths (relative to ${name}) exist, but are the incorrect type ` +
            "(file instead of directory, symlink instead of file, etc.). Set 'clean' to True " +
            `to remove them before extracting.\n\n${wrong.map((p) => `- ${p}`).join("\n")}`,
          changes: {},
        };
      }
      const owning = user !== undefined || group !== undefined;
      const needed = overwrite || members.some((m) => m.at !== "present");
      if (!needed) {
        const unowned = owning && members.some((m) => m.owned === false);
        const done = "All files in archive are already present";
        if (!unowned) return { result: true, comment: done, changes: {} };
        const changes = { "updated ownership": true };
        if (ctx.test) {
          return {
            result: null,
            comment: `${done}. Ownership would be updated on one or more files/directories.`,
            changes,
          };
        }
        await b.request("archive.chown", req, { timeoutMs: TIMEOUT_MS });
        return { result: true, comment: done, changes };
      }
      const changes: Record<string, unknown> = {};
      const removed = clean
        ? tops.filter((t) => members.some((m) => m.path === t && m.at !== "missing"))
        : [];
      if (removed.length) changes.removed = removed.map((t) => `${name}/${t}`);
      if (!dest_exists) changes.directories_created = [name];
      if (owning) changes["updated ownership"] = true;
      changes.extracted_files = members.map((m) => m.path).slice(0, keep);
      if (ctx.test) {
        return {
          result: null,
          comment: `Archive ${source} would be extracted to ${name}` +
            (clean ? ", after cleaning destination path(s)" : ""),
          changes,
        };
      }
      await b.request("archive.extract", { ...req, clean }, { timeoutMs: TIMEOUT_MS });
      return { result: true, comment: `${source} extracted to ${name}`, changes };
    },
  };
}
