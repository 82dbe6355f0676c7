/** The fleet simulator that the benchmarks and many-peel tests use. */
import assert from "node:assert/strict";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { startFleet } from "../../bench/fleet.ts";
import { floorFanout, zesterFanout } from "../../bench/ping_fanout.ts";
import { median } from "../../bench/stats.ts";
import { CpuMeter, cpuMs } from "../../bench/cpu_time.ts";
import { client, closeClient, masterConfig, startNatsServer, tempDir } from "../harness/mod.ts";

Deno.test("fleet - simulated peels answer jobs and the floor; none is lost", async () => {
  // The simulated peels have no creds: a plain server, as the benchmarks use.
  await using ns = await startNatsServer({ plain: true });
  await using dir = await tempDir();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path),
    new Logger({ level: "error", sink: () => {} }),
  );
  const nc = await client(ns.url);
  try {
    await using fleet = await startFleet({
      natsUrl: ns.url,
      peels: 60,
      prefix: "sim-",
      processes: 2,
    });
    assert.equal(fleet.ids.length, 60);
    assert.equal(fleet.ids[0], "sim-00000");
    assert.equal(fleet.pids.length, 2);
    const z = await zesterFanout(nc, "sim-*", 60);
    assert.equal(z.lost, 0);
    assert.ok(z.ms > 0);
    const f = await floorFanout(nc, fleet.ids);
    assert.ok(f > 0);
    assert.equal(master.index.size, 60, "every simulated peel sent its facts");
  } finally {
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("bench - median", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("bench - CPU time per process group, from /proc", async () => {
  // Says "ready", spins for 300 ms of its own CPU time once told to (wall time would give it
  // less CPU on a busy machine), says "done", then idles until killed.
  const busy = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `console.log("ready");
      for await (const _ of Deno.stdin.readable) break;
      const t = process.cpuUsage();
      for (let u = t; u.user + u.system < 300_000; u = process.cpuUsage(t));
      console.log("done");
      setTimeout(() => {}, 60_000);`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const said = busy.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const hear = async (word: string) => {
    let text = "";
    while (!text.includes(word)) {
      const { value, done } = await said.read();
      if (done) throw new Error(`the busy child exited before saying ${word}: ${text}`);
      text += value;
    }
  };
  const go = busy.stdin.getWriter();
  try {
    await hear("ready");
    const meter = new CpuMeter({ busy: [busy.pid], nobody: [2 ** 22 + 1] });
    await meter.measure(async () => {
      await go.write(new Uint8Array([10]));
      await hear("done");
    });
    const spent = meter.perCall();
    assert.ok(spent.busy! >= 250 && spent.busy! <= 1_000, `busy child: ${spent.busy} ms`);
    assert.equal(spent.nobody, null, "no process has that pid");
    const [self] = await cpuMs([Deno.pid]);
    assert.ok(self! > 0, `own CPU time ${self}`);
  } finally {
    busy.kill("SIGKILL");
    await busy.status;
    await go.close().catch(() => {});
    await said.cancel().catch(() => {});
  }
});
