import assert from "node:assert/strict";
import { Sweeper } from "../../lib/timer/mod.ts";

Deno.test("timer - a sweeper calls what it watches each period, and stops when nothing is left", async () => {
  const sweeper = new Sweeper(10);
  const seen: number[] = [];
  const fn = (now: number) => seen.push(now);
  sweeper.watch(fn);
  // Three ticks, however late a loaded machine delivers them.
  for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
  sweeper.unwatch(fn);
  const count = seen.length;
  assert.ok(count >= 3, `${count} ticks`);
  assert.ok(seen.every((t, i) => i === 0 || t >= seen[i - 1]!));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(seen.length, count);
  // The test sanitizer fails this test if the interval were still running here.
});
