/**
 * `facts.*` (and Salt's `grains.*` names): read the peel's facts.
 * @module
 */
import { ArgumentError, type ExecFunction, stringArg } from "./context.ts";

/** Look up `key` in `facts`, with `:` or `.` between levels (`os:family`, `os.family`). */
export function lookup(facts: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(facts, key)) return facts[key];
  const parts = key.includes(":") ? key.split(":") : key.split(".");
  let cur: unknown = facts;
  for (const p of parts) {
    if (Array.isArray(cur) && /^\d+$/.test(p)) cur = cur[Number(p)];
    else if (cur && typeof cur === "object" && Object.hasOwn(cur, p)) {
      cur = (cur as Record<string, unknown>)[p];
    } else return undefined;
  }
  return cur;
}

/** `facts.items`: every fact. */
export const items: ExecFunction = (ctx) => Promise.resolve({ result: ctx.facts() });

/** `facts.keys`: the top-level fact names. */
export const keys: ExecFunction = (ctx) =>
  Promise.resolve({ result: Object.keys(ctx.facts()).sort() });

/** `facts.get <key> [default=…]`: one fact, or the default (empty string, as Salt) when absent. */
export const get: ExecFunction = (ctx, args, kwargs) => {
  const key = stringArg("facts.get", args, kwargs, 0, "key");
  const value = lookup(ctx.facts(), key);
  return Promise.resolve({ result: value ?? args[1] ?? kwargs.default ?? "" });
};

/** `grains.item <key>…`: the named facts as a map ("" for a missing one), as Salt's. */
export const item: ExecFunction = (ctx, args) => {
  if (args.length === 0) throw new ArgumentError("grains.item needs at least one key");
  const facts = ctx.facts();
  return Promise.resolve({
    result: Object.fromEntries(args.map(String).map((k) => [k, lookup(facts, k) ?? ""])),
  });
};
