/** `deno.json`'s permission sets are the ones `lib/config/permissions.ts` derives: one source. */
import assert from "node:assert/strict";
import { currentSets, permissionSets } from "../../deploy/permission_sets.ts";
import { RUNTIME_FLAGS } from "../../lib/config/mod.ts";

Deno.test("permission sets - deno.json matches the flags derived from the default configs", async () => {
  assert.deepEqual(
    await currentSets(),
    permissionSets(),
    "run deno task permission-sets --write",
  );
});

Deno.test("permission sets - every entry-point task loads only cached code", async () => {
  const tasks = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ).tasks as Record<string, string>;
  for (const name of ["master", "peel", "broker", "zester"]) {
    for (const f of RUNTIME_FLAGS.filter((f) => f !== "--no-prompt")) {
      assert.ok(tasks[name]!.includes(f), `task ${name} runs with ${f}`);
    }
  }
});
