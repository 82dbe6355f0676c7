/**
 * `user.present|absent` and `group.present|absent` with Salt's arguments and wording. The peel
 * compares what the broker's `user.info`/`group.info` report with what the state asks, and
 * asks `user.add|mod|del`/`group.add|mod|del` for the difference; the broker decides, by its
 * policy's `accounts`, which accounts may be touched. Changes name what was asked, so test mode
 * predicts them exactly (an id the system picks is not in them).
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import {
  type Broker,
  type GroupInfo,
  runFailure,
  type RunResult,
  type UserInfo,
} from "../broker/mod.ts";
import { badArg, boolArg, intArg, listArg, strArg } from "./args.ts";

const REDACTED = "XXX-REDACTED-XXX";

/** Run an account operation; the failure's message, or undefined. */
async function act(b: Broker, op: string, args: Record<string, unknown>) {
  const r = await b.request(op, args) as RunResult;
  return r.retcode === 0 ? undefined : runFailure(r);
}

/** `gid`: a number, or a group name. */
function gidArg(c: Chunk): number | string | undefined {
  const v = c.args.gid;
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "number" || /^\d+$/.test(String(v))) return intArg(c, "gid", { min: 0 });
  return strArg(c, "gid");
}

function listing(changes: Record<string, unknown>): string {
  return Object.entries(changes).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n");
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** The `user` state module. */
export function userStates(b: Broker): Record<string, StateFunction> {
  return {
    async present(c, ctx): Promise<Outcome> {
      const name = c.name;
      if (boolArg(c, "hash_password", false)) {
        throw badArg(c, "hash_password", "False (give a crypt(3) hash in password)");
      }
      const uid = intArg(c, "uid", { min: 0 });
      const gid = gidArg(c);
      const groups = listArg(c, "groups", true);
      const optional = listArg(c, "optional_groups", true) ?? [];
      const removeGroups = boolArg(c, "remove_groups", true);
      const home = strArg(c, "home");
      const createhome = boolArg(c, "createhome", true);
      const shell = strArg(c, "shell");
      const fullname = strArg(c, "fullname");
      const password = boolArg(c, "empty_password", false) ? "" : strArg(c, "password");
      const enforce = boolArg(c, "enforce_password", true);
      const system = boolArg(c, "system", false);
      const now = await b.request("user.info", { name, password }) as UserInfo;
      const present: string[] = [];
      for (const g of optional) {
        if (((await b.request("group.info", { name: g })) as GroupInfo).exists) present.push(g);
      }
      const wanted = groups === undefined && !optional.length
        ? undefined
        : sorted([...groups ?? [], ...present, ...(removeGroups ? [] : now.groups ?? [])]);
      if (!now.exists) {
        const changes: Record<string, unknown> = {
          name,
          ...(uid === undefined ? {} : { uid }),
          ...(gid === undefined ? {} : { gid }),
          ...(wanted === undefined ? {} : { groups: wanted }),
          home: home ?? `/home/${name}`,
          ...(shell === undefined ? {} : { shell }),
          ...(fullname === undefined ? {} : { fullname }),
          ...(password === undefined ? {} : { passwd: REDACTED }),
        };
        if (ctx.test) return { result: null, comment: `User ${name} set to be added`, changes };
        const failed = await act(b, "user.add", {
          name,
          uid,
          gid,
          groups: wanted,
          home,
          createhome,
          shell,
          fullname,
          password,
          system,
        });
        if (failed) {
          return { result: false, comment: `Failed to create ${name}: ${failed}`, changes: {} };
        }
        return { result: true, comment: `New user ${name} created`, changes };
      }
      const changes: Record<string, unknown> = {};
      if (uid !== undefined && uid !== now.uid) {
        if (!boolArg(c, "allow_uid_change", false)) {
          return {
            result: false,
            comment: `Changing uid (${now.uid} -> ${uid}) not permitted, set allow_uid_change to ` +
              "True to force this change. Note that this will not change file ownership.",
            changes: {},
          };
        }
        changes.uid = uid;
      }
      if (gid !== undefined && gid !== now.gid && gid !== now.group) {
        if (!boolArg(c, "allow_gid_change", false)) {
          return {
            result: false,
            comment: `Changing gid (${now.gid} -> ${gid}) not permitted, set allow_gid_change to ` +
              "True to force this change. Note that this will not change file ownership.",
            changes: {},
          };
        }
        changes.gid = gid;
      }
      if (wanted !== undefined && wanted.join() !== sorted(now.groups ?? []).join()) {
        changes.groups = wanted;
      }
      if (home !== undefined && home !== now.home) changes.home = home;
      if (shell !== undefined && shell !== now.shell) changes.shell = shell;
      if (fullname !== undefined && fullname !== now.fullname) changes.fullname = fullname;
      if (password !== undefined && enforce && !now.password_matches) changes.passwd = REDACTED;
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `User ${name} is present and up to date`, changes };
      }
      if (ctx.test) {
        return {
          result: null,
          comment: `The following user attributes are set to be changed:\n${listing(changes)}`,
          changes,
        };
      }
      const failed = await act(b, "user.mod", {
        name,
        uid: changes.uid,
        gid: changes.gid,
        groups: changes.groups,
        home: changes.home,
        move_home: changes.home !== undefined && createhome,
        shell: changes.shell,
        fullname: changes.fullname,
        password: changes.passwd === undefined ? undefined : password,
      });
      if (failed) {
        return { result: false, comment: `Failed to update ${name}: ${failed}`, changes: {} };
      }
      return { result: true, comment: `Updated user ${name}`, changes };
    },

    async absent(c, ctx): Promise<Outcome> {
      const name = c.name;
      const purge = boolArg(c, "purge", false);
      const now = await b.request("user.info", { name }) as UserInfo;
      if (!now.exists) return { result: true, comment: `User ${name} is not present`, changes: {} };
      const changes = { [name]: "removed" };
      if (ctx.test) return { result: null, comment: `User ${name} set for removal`, changes };
      const failed = await act(b, "user.del", { name, purge });
      if (failed) {
        return { result: false, comment: `Failed to remove ${name}: ${failed}`, changes: {} };
      }
      return { result: true, comment: `Removed user ${name}`, changes };
    },
  };
}

/** The `group` state module. */
export function groupStates(b: Broker): Record<string, StateFunction> {
  return {
    async present(c, ctx): Promise<Outcome> {
      const name = c.name;
      const gid = intArg(c, "gid", { min: 0 });
      const system = boolArg(c, "system", false);
      const members = listArg(c, "members", true);
      const add = listArg(c, "addusers", true) ?? [];
      const del = listArg(c, "delusers", true) ?? [];
      if (members !== undefined && (add.length || del.length)) {
        throw badArg(c, "members", "not given with addusers or delusers");
      }
      if (add.some((u) => del.includes(u))) {
        throw badArg(c, "delusers", "users not also in addusers");
      }
      const now = await b.request("group.info", { name }) as GroupInfo;
      const wanted = members !== undefined
        ? sorted(members)
        : add.length || del.length
        ? sorted([...now.members ?? [], ...add]).filter((u) => !del.includes(u))
        : undefined;
      if (!now.exists) {
        const changes: Record<string, unknown> = {
          name,
          ...(gid === undefined ? {} : { gid }),
          ...(wanted?.length ? { members: wanted } : {}),
        };
        if (ctx.test) return { result: null, comment: `Group ${name} set to be added`, changes };
        const failed = await act(b, "group.add", { name, gid, system }) ??
          (wanted?.length ? await act(b, "group.mod", { name, members: wanted }) : undefined);
        if (failed) {
          return {
            result: false,
            comment: `Failed to create group ${name}: ${failed}`,
            changes: {},
          };
        }
        return { result: true, comment: `New group ${name} created`, changes };
      }
      const changes: Record<string, unknown> = {};
      if (gid !== undefined && gid !== now.gid) changes.gid = gid;
      if (wanted !== undefined && wanted.join() !== sorted(now.members ?? []).join()) {
        changes.members = wanted;
      }
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `Group ${name} is present and up to date`, changes };
      }
      if (ctx.test) {
        return {
          result: null,
          comment: `The following group attributes are set to be changed:\n${listing(changes)}`,
          changes,
        };
      }
      const failed = await act(b, "group.mod", {
        name,
        gid: changes.gid,
        members: changes.members,
      });
      if (failed) {
        return { result: false, comment: `Failed to update group ${name}: ${failed}`, changes: {} };
      }
      return { result: true, comment: `Updated group ${name}`, changes };
    },

    async absent(c, ctx): Promise<Outcome> {
      const name = c.name;
      const now = await b.request("group.info", { name }) as GroupInfo;
      if (!now.exists) return { result: true, comment: "Group not present", changes: {} };
      const changes = { [name]: "" };
      if (ctx.test) return { result: null, comment: `Group ${name} is set for removal`, changes };
      const failed = await act(b, "group.del", { name });
      if (failed) {
        return { result: false, comment: `Failed to remove group ${name}: ${failed}`, changes: {} };
      }
      return { result: true, comment: `Removed group ${name}`, changes };
    },
  };
}
