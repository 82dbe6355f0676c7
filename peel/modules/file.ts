/**
 * `file.*` states. Each decides from what the broker reports (stat, read, list) and acts through
 * the broker (write, mkdir, chmod, remove, rename, backup), so the policy decides what may be
 * touched. Text edits are in `file_edit.ts`, trees, copies and serialized data in `file_tree.ts`.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import { badArg, boolArg, modeArg, strArg } from "./args.ts";
import { desired, type FileDeps, manageFile, octal, stat } from "./file_io.ts";
import { editStates } from "./file_edit.ts";
import { treeStates } from "./file_tree.ts";

export type { FileDeps } from "./file_io.ts";

/** `backup: minion` (Salt's only value) asks for a copy before the file is replaced. */
function backupArg(c: Chunk): boolean {
  const v = strArg(c, "backup");
  if (v === undefined || v === "") return false;
  if (v !== "minion") throw badArg(c, "backup", '"minion"');
  return true;
}

/** The `file` state module, bound to `deps`. */
export function fileStates(deps: FileDeps): Record<string, StateFunction> {
  const b = deps.broker;
  return {
    async managed(c, ctx): Promise<Outcome> {
      const path = c.name;
      const present = (await stat(b, path)).exists;
      if (!present && boolArg(c, "create", true) === false) {
        return {
          result: true,
          comment: `File ${path} is not present and is not to be created`,
          changes: {},
        };
      }
      // `replace: False` leaves an existing file's contents alone.
      const keep = present && boolArg(c, "replace", true) === false;
      const m = await manageFile(b, path, {
        content: keep ? undefined : await desired(c, deps),
        mode: modeArg(c, "mode"),
        user: strArg(c, "user"),
        group: strArg(c, "group"),
        makedirs: boolArg(c, "makedirs", false),
        backup: backupArg(c),
      }, ctx.test);
      if (m.error) return { result: false, comment: m.error, changes: {} };
      if (Object.keys(m.changes).length === 0) {
        return { result: true, comment: `File ${path} is in the correct state`, changes: {} };
      }
      if (ctx.test) {
        return { result: null, comment: `File ${path} would be updated`, changes: m.changes };
      }
      const kept = m.backup ? ` (backup: ${m.backup})` : "";
      return { result: true, comment: `File ${path} updated${kept}`, changes: m.changes };
    },

    async directory(c, ctx): Promise<Outcome> {
      const path = c.name;
      const mode = modeArg(c, "dir_mode") ?? modeArg(c, "mode");
      const st = await stat(b, path);
      if (st.exists && st.type !== "directory") {
        return {
          result: false,
          comment: `${path} exists and is a ${st.type}, not a directory`,
          changes: {},
        };
      }
      const changes: Record<string, unknown> = {};
      if (!st.exists) changes[path] = "New Dir";
      else if (mode !== undefined && st.mode !== mode) changes.mode = octal(mode);
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `Directory ${path} is in the correct state`, changes };
      }
      if (ctx.test) return { result: null, comment: `Directory ${path} would be updated`, changes };
      if (!st.exists) {
        await b.request("mkdir", {
          path,
          mode: mode ?? 0o755,
          parents: boolArg(c, "makedirs", false),
        });
      } else await b.request("chmod", { path, mode: mode! });
      return { result: true, comment: `Directory ${path} updated`, changes };
    },

    async absent(c, ctx): Promise<Outcome> {
      const path = c.name;
      const st = await stat(b, path);
      if (!st.exists) return { result: true, comment: `File ${path} is not present`, changes: {} };
      const changes = { removed: path };
      if (ctx.test) return { result: null, comment: `File ${path} would be removed`, changes };
      await b.request("remove", { path, recursive: st.type === "directory" });
      return { result: true, comment: `Removed ${path}`, changes };
    },

    async symlink(c, ctx): Promise<Outcome> {
      const path = c.name;
      const target = strArg(c, "target");
      if (!target) throw badArg(c, "target", "the path the link points to");
      const st = await stat(b, path);
      if (st.exists && st.type === "symlink" && st.target === target) {
        return { result: true, comment: `Symlink ${path} is present and correct`, changes: {} };
      }
      if (st.exists && st.type !== "symlink" && !boolArg(c, "force", false)) {
        return {
          result: false,
          comment: `${path} exists and is a ${st.type}; set force: True to replace it`,
          changes: {},
        };
      }
      const changes = { new: `${path} -> ${target}` };
      if (ctx.test) return { result: null, comment: `Symlink ${path} would be set`, changes };
      if (st.exists) await b.request("remove", { path, recursive: st.type === "directory" });
      await b.request("symlink", { path, target });
      return { result: true, comment: `Created symlink ${path} -> ${target}`, changes };
    },

    async touch(c, ctx): Promise<Outcome> {
      const path = c.name;
      const st = await stat(b, path);
      if (st.exists) return { result: true, comment: `File ${path} exists`, changes: {} };
      const changes = { new: path };
      if (ctx.test) return { result: null, comment: `File ${path} would be created`, changes };
      await b.request("write", { path, data: "", makedirs: boolArg(c, "makedirs", false) });
      return { result: true, comment: `Created ${path}`, changes };
    },

    ...editStates(deps),
    ...treeStates(deps),
  };
}
