/**
 * `test.*`: liveness and plumbing checks (`test.ping`, `test.echo`, `test.sleep`,
 * `test.version`), as in Salt.
 * @module
 */
import { VERSION } from "../../lib/version/mod.ts";
import { ArgumentError, type ExecFunction, stringArg } from "./context.ts";

/** `test.ping`: true when the peel is alive and answering. */
export const ping: ExecFunction = () => Promise.resolve({ result: true });

/** `test.echo <text>`: returns its argument. */
export const echo: ExecFunction = (_ctx, args, kwargs) =>
  Promise.resolve({ result: args[0] ?? kwargs.text ?? "" });

/** `test.version`: the peel's version. */
export const version: ExecFunction = () => Promise.resolve({ result: VERSION });

/** `test.sleep <seconds>`: sleeps, then returns true; stops early when the job times out. */
export const sleep: ExecFunction = async (ctx, args, kwargs) => {
  const secs = Number(stringArg("test.sleep", args, kwargs, 0, "length"));
  if (!Number.isFinite(secs) || secs < 0) {
    throw new ArgumentError(`test.sleep: "length" must be a non-negative number of seconds`);
  }
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, secs * 1000);
    ctx.signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(ctx.signal.reason);
    }, { once: true });
  });
  return { result: true };
};
