/**
 * Acting without a record: the broker writes an intent record before each policed operation
 * acts and refuses the operation when it cannot; and nothing it starts outlives it, so killing
 * the broker cannot leave an unrecorded command running as root.
 */
import assert from "node:assert/strict";
import {
  auditRecords,
  brokerAt,
  pidsOf,
  rejectsWith,
  tempDir,
  uniqueSleep,
  until,
} from "../harness/mod.ts";

/** Wait until nothing matches `marker`; kill (by pid) and report whatever is left. */
async function allGone(marker: string): Promise<number[]> {
  await until(`no "${marker}" is left`, () => pidsOf(marker).length === 0, 30_000).catch(() => {});
  const left = pidsOf(marker);
  for (const pid of left) Deno.kill(pid, "SIGKILL");
  return left;
}

Deno.test("audit - a broker killed mid-run takes the command with it, and the intent is logged", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await brokerAt(base, { cmd_run: "allow" });
  const marker = uniqueSleep(41);
  try {
    const p = c.request("run", {
      argv: ["/bin/sh", "-c", `${marker} & ${marker}; wait`],
    }, { jid: "20240102030405000000" });
    await until("the command and its child run", () => pidsOf(marker).length === 2, 30_000);
    Deno.kill(c.pid!, "SIGKILL");
    await rejectsWith(p, "broker_crashed");
    assert.deepEqual(await allGone(marker), [], "nothing the broker started survives it");
    const records = await auditRecords(base);
    const run = records.filter((r) => r.op === "run");
    assert.equal(run.length, 1, JSON.stringify(records));
    assert.equal(run[0]!.phase, "intent");
    assert.equal(run[0]!.decision, "allow");
    assert.equal(run[0]!.jid_claimed, "20240102030405000000");
    assert.deepEqual(
      (run[0]!.args as { argv: string[] }).argv.at(-1),
      `${marker} & ${marker}; wait`,
    );
  } finally {
    await c.close();
    await allGone(marker);
  }
});

Deno.test("audit - an audit log that cannot be opened refuses every policed operation", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  await Deno.mkdir(`${base}/audit.log`); // A directory where the log should be.
  const c = await brokerAt(base, { cmd_run: "allow", audit_log: `${base}/audit.log` });
  const f = `${base}/files/f`;
  try {
    await rejectsWith(
      c.request("write", { path: f, data: "x" }),
      "audit_unwritable",
      /^Audit log unwritable: "[^"]*\/audit.log": /,
    );
    await rejectsWith(
      c.request("run", { argv: ["/bin/sh", "-c", `echo ran > ${f}`] }),
      "audit_unwritable",
    );
    await assert.rejects(Deno.stat(f), Deno.errors.NotFound, "nothing acted");
    const pong = await c.request("ping", {}) as { pong: boolean };
    assert.equal(pong.pong, true, "unpoliced operations still answer");
  } finally {
    await c.close();
  }
});

function canMount(): boolean {
  const dir = Deno.makeTempDirSync();
  try {
    const mount = new Deno.Command("mount", { args: ["-t", "tmpfs", "tmpfs", dir] }).outputSync();
    if (!mount.success) return false;
    new Deno.Command("umount", { args: [dir] }).outputSync();
    return true;
  } finally {
    Deno.removeSync(dir);
  }
}

Deno.test({
  name: "audit - a full audit disk refuses operations until there is room again",
  ignore: !canMount(),
  async fn() {
    await using dir = await tempDir();
    const base = dir.path;
    const logs = `${base}/logs`;
    await Deno.mkdir(logs);
    const mount = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", logs],
    }).outputSync();
    assert.ok(mount.success, new TextDecoder().decode(mount.stderr));
    try {
      // One page of records already there, so the next record needs a page the disk lacks.
      const pad = JSON.stringify({ pad: "" });
      await Deno.writeTextFile(
        `${logs}/audit.log`,
        JSON.stringify({ pad: "x".repeat(4096 - pad.length - 1) }) + "\n",
        { mode: 0o600 },
      );
      const fill = await Deno.open(`${logs}/fill`, { write: true, create: true });
      await fill.write(new Uint8Array(64 * 1024)).catch(() => {});
      fill.close();
      const c = await brokerAt(base, { audit_log: `${logs}/audit.log` });
      try {
        await rejectsWith(
          c.request("write", { path: `${base}/files/a`, data: "x" }),
          "audit_unwritable",
          /Audit log unwritable: .*No space left on device/,
        );
        await assert.rejects(Deno.stat(`${base}/files/a`), Deno.errors.NotFound);
        await Deno.remove(`${logs}/fill`);
        await c.request("write", { path: `${base}/files/b`, data: "x" });
        const ops = (await auditRecords(base, `${logs}/audit.log`)).map((r) =>
          `${r.op} ${r.phase}`
        );
        assert.deepEqual(ops.slice(1), ["write intent", "write done"]);
      } finally {
        await c.close();
      }
    } finally {
      new Deno.Command("umount", { args: [logs] }).outputSync();
    }
  },
});
