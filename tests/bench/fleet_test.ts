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
  await using ns = await startNatsServer();
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
  // Spins for 300 ms, then idles until killed.
  const busy = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "const t = Date.now(); while (Date.now() - t < 300) {} setTimeout(() => {}, 60_000);",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const meter = new CpuMeter({ busy: [busy.pid], nobody: [2 ** 22 + 1] });
    await meter.measure(() => new Promise((r) => setTimeout(r, 800)));
    const spent = meter.perCall();
    assert.ok(spent.busy! >= 50 && spent.busy! <= 1_000, `busy child: ${spent.busy} ms`);
    assert.equal(spent.nobody, null, "no process has that pid");
    const [self] = await cpuMs([Deno.pid]);
    assert.ok(self! > 0, `own CPU time ${self}`);
  } finally {
    busy.kill("SIGKILL");
    await busy.status;
  }
});
