/**
 * `git.config_set|config_unset`: values in a repository's git config (`repo`) or a user's
 * `~/.gitconfig` (`global: True` with `user`), with Salt's arguments (`name`, `value` or
 * `multivar`; `name` as a regex of whole keys, `value_regex` and `all` to unset), changes
 * (`{key: {old, new}}` when set, `{key: [values]}` when unset) and comments. The peel reads
 * the file and decides; the broker's `git.config_*` operations change it with `git config`.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import { type Broker, gitConfigKey } from "../broker/mod.ts";
import { badArg, boolArg, listArg, strArg } from "./args.ts";
import { readOfUser } from "./ssh_auth.ts";

/** Which config file a state names, as the broker's operations take it. */
function where(c: Chunk): { repo?: string; global: boolean; user?: string } {
  const global = boolArg(c, "global", false);
  const repo = strArg(c, "repo");
  const user = strArg(c, "user");
  if (global) {
    if (user === undefined) throw badArg(c, "user", "the user whose ~/.gitconfig global sets");
    if (repo !== undefined) throw badArg(c, "repo", "left out when global is True");
  } else if (repo === undefined || !repo.startsWith("/")) {
    throw badArg(c, "repo", "the absolute path of a repository (or global: True)");
  }
  return { repo, global, user };
}

/** A list as Salt's comments print one: `['a', 'b']`. */
const pyList = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(", ")}]`;

/** The `git.config_*` state functions. */
export function gitConfigStates(b: Broker): Record<string, StateFunction> {
  const read = async (w: ReturnType<typeof where>, test: boolean, keys: string[] = []) => {
    const get = () =>
      b.request("git.config_get", { ...w, keys }) as Promise<{ entries: [string, string][] }>;
    return (await readOfUser(test, get, { entries: [] })).entries;
  };
  return {
    async config_set(c, ctx): Promise<Outcome> {
      const name = c.name;
      const key = gitConfigKey(name);
      if (!key) throw badArg(c, "name", "a git config key (section.name)");
      if (c.args.value !== undefined && c.args.multivar !== undefined) {
        throw badArg(c, "multivar", "left out when value is given (one of the two)");
      }
      const multivar = listArg(c, "multivar", true);
      const value = strArg(c, "value");
      if (value === undefined && multivar === undefined) {
        throw badArg(c, "value", "the value to set (or multivar: a list)");
      }
      const desired = multivar ?? [value!];
      const shown = multivar ? pyList(multivar) : `'${value}'`;
      const w = where(c);
      const prefix = w.global ? "Global key " : "";
      const current = (await read(w, ctx.test, [name]))
        .filter(([k]) => k === key.canonical).map(([, v]) => v);
      const old = current.length ? current : null;
      if (JSON.stringify(current) === JSON.stringify(desired)) {
        return {
          result: true,
          comment: `${prefix}'${name}' is already set to ${shown}`,
          changes: {},
        };
      }
      const changes = { [name]: { old, new: desired } };
      const verb = old === null ? "added as" : "set to";
      if (ctx.test) {
        return { result: null, comment: `${prefix}'${name}' would be ${verb} ${shown}`, changes };
      }
      await b.request("git.config_set", { ...w, key: name, values: desired });
      return { result: true, comment: `${prefix}'${name}' was ${verb} ${shown}`, changes };
    },

    async config_unset(c, ctx): Promise<Outcome> {
      const pattern = (what: string, source: string) => {
        try {
          return new RegExp(source, "i");
        } catch {
          throw badArg(c, what, "a regular expression");
        }
      };
      const keyRe = pattern("name", `^(?:${c.name.replace(/^\^/, "").replace(/\$$/, "")})$`);
      const valueSource = strArg(c, "value_regex");
      const valueRe = valueSource === undefined ? undefined : pattern("value_regex", valueSource);
      const all = boolArg(c, "all", false);
      const w = where(c);
      const matches: Record<string, string[]> = {};
      for (const [k, v] of await read(w, ctx.test)) {
        if (keyRe.test(k) && (!valueRe || valueRe.test(v))) (matches[k] ??= []).push(v);
      }
      const keys = Object.keys(matches);
      if (keys.length === 0) {
        return { result: true, comment: "No matching keys are set", changes: {} };
      }
      const greedy = Object.entries(matches).filter(([, vs]) => vs.length > 1);
      if (!all && greedy.length) {
        const list = greedy.map(([k, vs]) => `${k} (${vs.join(", ")})`).join("; ");
        return {
          result: false,
          comment: valueRe
            ? "Multiple values are matched by value_regex for the following keys (set 'all' " +
              `to True to force removal): ${list}`
            : `Multivar(s) matched by the key expression (set 'all' to True to force removal): ${list}`,
          changes: {},
        };
      }
      if (ctx.test) {
        await read(w, true, keys);
        return {
          result: null,
          comment: `${keys.length} key(s) would have value(s) unset`,
          changes: matches,
        };
      }
      for (const key of keys) {
        const values = valueRe ? matches[key] : undefined;
        await b.request("git.config_unset", { ...w, key, values });
      }
      return { result: true, comment: "Value(s) successfully unset", changes: matches };
    },
  };
}
