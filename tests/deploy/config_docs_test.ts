import assert from "node:assert/strict";
import { configurationDoc } from "../../deploy/config_docs.ts";
import { KEY_MEANINGS, MASTER_DAEMON, PEEL_DAEMON } from "../../lib/config/mod.ts";

Deno.test("config docs - docs/configuration.md is generated from the schemas (deno task config-docs --write)", async () => {
  const file = await Deno.readTextFile(new URL("../../docs/configuration.md", import.meta.url));
  assert.equal(
    file,
    configurationDoc(),
    "docs/configuration.md differs: run deno task config-docs --write",
  );
});

Deno.test("config docs - every key, built or planned, has its row with flag, default and status", () => {
  const doc = configurationDoc();
  assert.match(
    doc,
    /^\| `states_dir` \| `--states-dir` \| a string \| \/srv\/zester\/states \| .* \| built \|$/m,
  );
  assert.match(
    doc,
    /^\| `peel_expiry` \| `--peel-expiry` \| a duration such as 30s or 5m \| 7d \| /m,
  );
  assert.match(
    doc,
    /^\| `states_cache` \| `--states-cache` \| an absolute path \| data_dir\/states-cache \| .* \| planned: waits for a state cache outside data_dir/m,
  );
  assert.match(doc, /^\| `jobs` \| KV \(stream `KV_jobs`\) \| 7d \| 10 \| file \|/m);
  assert.match(doc, /^\| `job-events` \| stream \| 7d \| – \| file \|/m);
  for (const [daemon, spec] of [["master", MASTER_DAEMON], ["peel", PEEL_DAEMON]] as const) {
    for (const key of Object.keys(spec.schema.shape!)) {
      assert.ok(KEY_MEANINGS[daemon][key], `${daemon}.yaml key "${key}" has no meaning`);
      assert.match(doc, new RegExp(`^\\| \`${key}\` \\|`, "m"));
    }
    for (const p of spec.planned) assert.match(doc, new RegExp(`^\\| \`${p.key}\` \\|`, "m"));
  }
});
