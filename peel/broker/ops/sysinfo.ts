/**
 * `sysinfo`: the system text the peel's fact collectors may not read themselves (Deno refuses
 * `/proc` without `--allow-all`): `/proc/cpuinfo`, `df -PkT` and the name of process 1 (the init
 * system). Fixed commands, no arguments.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { spawnContained } from "./contain.ts";
import { CHILD_PATH } from "./run.ts";
import { defineOp } from "./op.ts";

async function output(argv: string[]): Promise<string> {
  const { child } = spawnContained(argv, { env: { PATH: CHILD_PATH, LANG: "C" }, stderr: "null" });
  return new TextDecoder().decode((await child.output()).stdout);
}

/** The `sysinfo` operation. */
export const sysinfoOp = defineOp({
  args: s.object({}),
  async run() {
    const [cpuinfo, df, init] = await Promise.all([
      output(["/usr/bin/cat", "/proc/cpuinfo"]),
      output([
        "/usr/bin/df",
        "-PkT",
        "-x",
        "tmpfs",
        "-x",
        "devtmpfs",
        "-x",
        "squashfs",
        "-x",
        "overlay",
      ]),
      output(["/usr/bin/cat", "/proc/1/comm"]),
    ]);
    return { cpuinfo, df, init: init.trim() };
  },
});
