/**
 * `sysinfo`: the system text the peel's fact collectors may not read themselves (Deno refuses
 * `/proc` without `--allow-all`): `/proc/cpuinfo`, `df -PkT` and the name of process 1 (the init
 * system). Fixed commands, no arguments.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { CHILD_PATH } from "./run.ts";
import { defineOp } from "./op.ts";

async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env: { PATH: CHILD_PATH, LANG: "C" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/** The `sysinfo` operation. */
export const sysinfoOp = defineOp({
  args: s.object({}),
  async run() {
    const [cpuinfo, df, init] = await Promise.all([
      output("cat", ["/proc/cpuinfo"]),
      output("df", ["-PkT", "-x", "tmpfs", "-x", "devtmpfs", "-x", "squashfs", "-x", "overlay"]),
      output("cat", ["/proc/1/comm"]),
    ]);
    return { cpuinfo, df, init: init.trim() };
  },
});
