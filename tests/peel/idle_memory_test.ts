import assert from "node:assert/strict";
import { DENO_CONFIG } from "../harness/mod.ts";

const ROOT = new URL("../../", import.meta.url);

/** A module of `deno info --json`, as far as this test reads it. */
interface InfoModule {
  specifier: string;
  dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
}

/**
 * The modules Deno loads when `main` starts: its static imports, followed from module to module.
 * A dynamic `import()` loads its module only when it runs, so it is not followed.
 */
async function loadedAtStart(main: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", DENO_CONFIG, new URL(main, ROOT).href],
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0, `deno info ${main} failed`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  for (let s = todo.pop(); s !== undefined; s = todo.pop()) {
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of modules.get(s)?.dependencies ?? []) {
      const to = d.code?.specifier;
      if (to && !d.isDynamic) todo.push(info.redirects[to] ?? to);
    }
  }
  return seen;
}

Deno.test("peel idle memory - start loads neither the template engine nor the broker's ops", async () => {
  const loaded = [...await loadedAtStart("peel/main.ts")];
  assert.ok(loaded.some((s) => s.endsWith("/peel/broker/client.ts")), "no broker client loaded");
  // Templates render in a worker, which loads nunjucks itself: the peel's isolate needs none.
  assert.deepEqual(loaded.filter((s) => s.startsWith("npm:/nunjucks@")), []);
  // The ops run in the broker process; the peel only spawns it and talks to it.
  assert.deepEqual(loaded.filter((s) => s.endsWith("/peel/broker/ops/mod.ts")), []);
});
