/** `docs/metrics.md` lists exactly the metrics the master and the peel register. */
import assert from "node:assert/strict";
import { registry } from "../../lib/metrics/mod.ts";
import "../../master/metrics.ts";
import "../../peel/metrics.ts";
import { documentedMetrics } from "../harness/mod.ts";

Deno.test("metrics docs - docs/metrics.md and the registered metrics list the same names, types and labels", async () => {
  const registered = registry.list().map((m) => ({
    name: m.name,
    type: m.type,
    labels: m.labelNames.join(","),
  }));
  const documented = (await documentedMetrics()).map(({ where: _, ...r }) => r);
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  assert.ok(documented.length >= 19, `only ${documented.length} rows parsed`);
  assert.deepEqual(documented.sort(byName), registered.sort(byName));
});
