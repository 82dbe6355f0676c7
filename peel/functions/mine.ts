/**
 * `mine.*` (and Zester's `basket.*` names): Salt's mine functions on the basket. `mine.get`
 * reads other peels' entries; `mine.update`, `mine.send`, `mine.delete` and `mine.flush` change
 * this peel's own.
 * @module
 */
import { basketFunction } from "../../lib/config/mod.ts";
import { TARGET_TYPES, type TargetType } from "../../lib/job/mod.ts";
import { SchemaError } from "../../lib/schema/mod.ts";
import {
  ArgumentError,
  type Basket,
  type ExecContext,
  type ExecFunction,
  stringArg,
} from "./context.ts";

function basket(ctx: ExecContext, fun: string): Basket {
  if (!ctx.basket) throw new ArgumentError(`${fun}: the basket is not available here`);
  return ctx.basket;
}

/** Salt's `tgt_type` argument, `glob` when absent. */
export function targetTypeArg(fun: string, value: unknown): TargetType {
  const v = value ?? "glob";
  if (!(TARGET_TYPES as readonly unknown[]).includes(v)) {
    throw new ArgumentError(
      `${fun}: "tgt_type" must be one of ${TARGET_TYPES.join(", ")}, got ${JSON.stringify(v)}`,
    );
  }
  return v as TargetType;
}

/** A target given as a list (`tgt_type='list'`) as the comma-separated form. */
export function targetArg(fun: string, value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(",");
  if (typeof value !== "string" || value === "") {
    throw new ArgumentError(`${fun}: "tgt" must be a target expression, got ${typeof value}`);
  }
  return value;
}

/**
 * `mine.get <tgt> <fun> [tgt_type=glob] [exclude_minion=False]`: entry `fun` of every peel `tgt`
 * selects, as `{peel_id: value}`.
 */
export const get: ExecFunction = async (ctx, args, kwargs) => {
  const tgt = targetArg("mine.get", args[0] ?? kwargs.tgt);
  const fun = stringArg("mine.get", args, kwargs, 1, "fun");
  const tgtType = targetTypeArg("mine.get", args[2] ?? kwargs.tgt_type);
  const found = await basket(ctx, "mine.get").get(tgt, fun, tgtType);
  if (args[3] ?? kwargs.exclude_minion) delete found[ctx.peelId];
  return { result: found };
};

/** `mine.update`: run the configured functions now and publish them; fails naming any that failed. */
export const update: ExecFunction = async (ctx) => {
  const failed = await basket(ctx, "mine.update").update();
  const names = Object.keys(failed);
  if (names.length === 0) return { result: true };
  return { result: { failed }, success: false };
};

/**
 * `mine.send <name> [args…] [mine_function=<fun>] [kwargs…]`: run one function now and publish
 * it under `name`, as the `basket:` config would.
 */
export const send: ExecFunction = async (ctx, args, kwargs) => {
  const name = stringArg("mine.send", args, kwargs, 0, "name");
  let fn;
  try {
    fn = basketFunction(name, [...args.slice(1), kwargs], "mine.send");
  } catch (e) {
    if (e instanceof SchemaError) throw new ArgumentError(e.message);
    throw e;
  }
  await basket(ctx, "mine.send").send(fn);
  return { result: true };
};

/** `mine.delete <fun>`: remove this peel's entry `fun`. */
export const remove: ExecFunction = async (ctx, args, kwargs) => {
  await basket(ctx, "mine.delete").delete(stringArg("mine.delete", args, kwargs, 0, "fun"));
  return { result: true };
};

/** `mine.flush`: remove every entry of this peel. */
export const flush: ExecFunction = async (ctx) => {
  await basket(ctx, "mine.flush").flush();
  return { result: true };
};
