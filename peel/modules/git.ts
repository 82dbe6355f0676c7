/**
 * `git.latest`: a clone of a repository kept at a revision, with Salt's arguments (`name` the
 * URL, `target`, `rev`, `branch`, `force_reset`, `force_clone`, `depth`, `user`, `identity`)
 * and changes (`new: "<url> => <target>"` on a clone, `revision: {old, new}`). The peel
 * decides; the broker's typed git operations act.
 * @module
 */
import type { Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { Broker } from "../broker/mod.ts";
import { badArg, boolArg, intArg, needStr, strArg } from "./args.ts";

const TIMEOUT_MS = 900_000;
const SHA = /^[0-9a-f]{40}$/;

interface Info {
  exists: boolean;
  repo?: boolean;
  head?: string | null;
  branch?: string | null;
  origin?: string | null;
  dirty?: boolean;
  fast_forward?: boolean;
}

const short = (h: string | null | undefined) => h ? h.slice(0, 7) : "none";

/** The `git` state module. */
export function gitStates(b: Broker): Record<string, StateFunction> {
  const call = (op: string, args: Record<string, unknown>) =>
    b.request(op, args, { timeoutMs: TIMEOUT_MS });
  return {
    async latest(c, ctx): Promise<Outcome> {
      const url = c.name;
      if (url.startsWith("-") || url.includes("::")) {
        throw badArg(c, "name", "a repository URL (no options, no <transport>:: helpers)");
      }
      const target = needStr(c, "target");
      if (!target.startsWith("/")) throw badArg(c, "target", "an absolute path");
      const rev = strArg(c, "rev") ?? "HEAD";
      const branchArg = strArg(c, "branch");
      for (const [k, v] of [["rev", rev], ["branch", branchArg]] as const) {
        if (v !== undefined && (v.startsWith("-") || v.includes(".."))) {
          throw badArg(c, k, "a branch, tag or commit");
        }
      }
      const user = strArg(c, "user");
      const identity = strArg(c, "identity");
      const depth = intArg(c, "depth", { min: 1 });
      const forceReset = boolArg(c, "force_reset", false);
      const forceClone = boolArg(c, "force_clone", false);
      const who = { user, identity };

      const info = await call("git.info", { target, user }) as Info;
      const remote = SHA.test(rev)
        ? { commit: rev, branch: false }
        : await call("git.remote", { url, rev, ...who }) as {
          commit: string | null;
          branch: boolean;
        };
      if (remote.commit === null) {
        return {
          result: false,
          comment: `Revision '${rev}' does not exist in ${url}`,
          changes: {},
        };
      }
      const commit = remote.commit;
      const wrongOrigin = info.repo === true && info.origin !== url;
      if (wrongOrigin && !forceClone) {
        return {
          result: false,
          comment: `Remote 'origin' of ${target} is ${info.origin}, not ${url}. ` +
            "Set force_clone: True to remove it and clone anew",
          changes: {},
        };
      }
      if (!info.exists || !info.repo || wrongOrigin) {
        const changes = {
          new: `${url} => ${target}`,
          revision: { old: null, new: commit },
        };
        if (ctx.test) {
          return { result: null, comment: `${url} would be cloned to ${target}`, changes };
        }
        const named = rev !== "HEAD" && !SHA.test(rev) ? rev : undefined;
        await call("git.clone", {
          url,
          target,
          branch: named,
          depth,
          ...who,
          replace: info.exists && forceClone,
        });
        const after = await call("git.info", { target, user }) as Info;
        if (after.head !== commit || (branchArg && after.branch !== branchArg)) {
          await call("git.checkout", {
            target,
            commit,
            branch: branchArg ?? (remote.branch ? rev : undefined),
            user,
          });
        }
        return { result: true, comment: `Repository ${url} cloned to ${target}`, changes };
      }
      const local = branchArg ?? (remote.branch ? rev : rev === "HEAD" ? info.branch : undefined);
      if (info.head === commit && (!local || info.branch === local)) {
        return { result: true, comment: `Repository ${target} is up-to-date`, changes: {} };
      }
      if (info.dirty && !forceReset) {
        return {
          result: false,
          comment: `Repository ${target} has local changes. Set force_reset: True to discard ` +
            "them",
          changes: {},
        };
      }
      const changes = { revision: { old: info.head ?? null, new: commit } };
      if (ctx.test) {
        return {
          result: null,
          comment: `Repository ${target} would be updated from ${short(info.head)} to ` +
            short(commit),
          changes,
        };
      }
      await call("git.fetch", { url, target, depth, ...who });
      if (!forceReset && info.head) {
        const ff = await call("git.info", { target, user, ancestor: commit }) as Info;
        if (!ff.fast_forward) {
          return {
            result: false,
            comment: `Repository ${target} cannot be fast-forwarded to ${rev}. Set ` +
              "force_reset: True to reset it",
            changes: {},
          };
        }
      }
      await call("git.checkout", {
        target,
        commit,
        branch: local ?? undefined,
        force: forceReset,
        user,
      });
      return {
        result: true,
        comment: `Repository ${target} updated: ${short(info.head)} => ${short(commit)}`,
        changes,
      };
    },
  };
}
