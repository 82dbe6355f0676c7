/**
 * `deno task call <function> [args…]`: `zester call --local` from a checkout. Writes a broker
 * launcher for the `--policy` given (or the installed one) into a temp dir and runs the CLI with
 * the CLI's own permissions, whose only program is that launcher.
 * @module
 */
import { callCommand } from "./cli.ts";

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "zester-call-" });
  try {
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: await callCommand(dir, Deno.args),
    }).spawn().status;
    Deno.exitCode = code;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
