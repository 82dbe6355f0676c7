/**
 * `settings.*` and Salt's `pillar.*` names: read the peel's settings, with Salt's arguments
 * (`pillar.get key default merge=True merge_nested_lists=True delimiter=/`), and compile them
 * again now (`saltutil.refresh_pillar`).
 * @module
 */
import { isPlainObject } from "../../lib/schema/mod.ts";
import { pillarGet, traverse } from "../../lib/template/mod.ts";
import {
  ArgumentError,
  type ExecContext,
  type ExecFunction,
  type FunctionResult,
  stringArg,
} from "./context.ts";

type Settings = { settings: Record<string, unknown>; warning?: string };

/** The peel's settings (none without a settings source). */
async function current(ctx: ExecContext): Promise<Settings> {
  return ctx.settings ? await ctx.settings.get() : { settings: {} };
}

/** A result, with the settings' warning when there is one. */
function answer(s: Settings, result: unknown): FunctionResult {
  return { result, ...(s.warning ? { warnings: [s.warning] } : {}) };
}

const truthy = (v: unknown) => v === true || v === "True" || v === "true";

/** `settings.items` / `pillar.items`: every setting. */
export const items: ExecFunction = async (ctx) => {
  const s = await current(ctx);
  return answer(s, s.settings);
};

/**
 * `settings.get key [default] [merge] [merge_nested_lists] [delimiter]` / `pillar.get`: one
 * value, nested keys joined with `:`; with `merge=True`, a dict or list default merged with it.
 */
export const get: ExecFunction = async (ctx, args, kwargs) => {
  const key = stringArg("pillar.get", args, kwargs, 0, "key");
  const [, dflt = kwargs.default ?? "", merge = kwargs.merge, lists, delim] = args;
  const s = await current(ctx);
  return answer(
    s,
    pillarGet(
      s.settings,
      key,
      dflt,
      truthy(merge),
      String(delim ?? kwargs.delimiter ?? ":"),
      truthy(lists ?? kwargs.merge_nested_lists),
    ),
  );
};

/** `pillar.item key…`: the named settings as a map (`default`, or "", for a missing one). */
export const item: ExecFunction = async (ctx, args, kwargs) => {
  if (args.length === 0) throw new ArgumentError("pillar.item needs at least one key");
  const s = await current(ctx);
  const delim = String(kwargs.delimiter ?? ":");
  const dflt = kwargs.default ?? "";
  return answer(
    s,
    Object.fromEntries(args.map(String).map((k) => [k, traverse(s.settings, k, dflt, delim)])),
  );
};

/** `pillar.raw [key]`: every setting, or the one under `key` (`{}` when absent). */
export const raw: ExecFunction = async (ctx, args, kwargs) => {
  const key = args[0] ?? kwargs.key;
  const s = await current(ctx);
  return answer(s, key === undefined ? s.settings : traverse(s.settings, String(key), {}));
};

/**
 * `settings.keys [key]` / `pillar.keys key`: the keys of the map under `key` (of the top level
 * without one); `pillar.ls`: the top-level keys.
 */
export const keys: ExecFunction = async (ctx, args, kwargs) => {
  const key = args[0] ?? kwargs.key;
  const s = await current(ctx);
  const v = key === undefined ? s.settings : traverse(s.settings, String(key), {});
  if (!isPlainObject(v)) throw new ArgumentError(`Settings value at "${key}" is not a mapping`);
  return answer(s, Object.keys(v));
};

/** `saltutil.refresh_pillar` / `settings.refresh`: compile the settings again now. */
export const refresh: ExecFunction = async (ctx) => {
  if (!ctx.settings) throw new ArgumentError("This peel has no settings source");
  return answer(await ctx.settings.refresh(), true);
};
