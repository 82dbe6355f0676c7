/**
 * No process loads code at run time: a computed dynamic import of a registry or https module,
 * made inside the peel started exactly as production starts it, fails instead of fetching
 * (module loading is not governed by `--allow-net`, so the runtime flags forbid it).
 */
import assert from "node:assert/strict";
import {
  parseConfig,
  PeelConfig,
  peelPermissionFlags,
  RUNTIME_FLAGS,
} from "../../lib/config/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { masterConfig, startNatsServer, startPeel, tempDir } from "../harness/mod.ts";

// Built at run time so that no static analysis sees (or pre-caches) the specifiers.
const PROBE = `
const results = {};
async function attempt(name, spec) {
  try { await import(spec); results[name] = "loaded"; }
  catch (e) { results[name] = String(e.message ?? e).split("\\n").join(" "); }
}
await attempt("npm", ["npm:left-pad", "@1.3.0"].join(""));
await attempt("https", ["https://", "example.com/zester-probe.js"].join(""));
console.error("LOAD_PROBE " + JSON.stringify(results));
`;

Deno.test("code loading - a dynamic import inside the peel fetches nothing", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path),
    new Logger({ level: "error", sink: () => {} }),
  );
  try {
    const probe = `${dir.path}/probe.js`;
    await Deno.writeTextFile(probe, PROBE);
    await using peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01", {
      denoFlags: [`--preload=${probe}`],
    });
    const cfg = parseConfig(await Deno.readTextFile(peel.configPath), peel.configPath, PeelConfig);
    const flags = peelPermissionFlags(cfg, peel.configPath);
    for (const f of RUNTIME_FLAGS) assert.ok(flags.includes(f), `the peel runs with ${f}`);
    const line = await peel.waitFor(/LOAD_PROBE/);
    const results = JSON.parse(line.slice(line.indexOf("{")));
    assert.match(results.npm, /not found in cache.*--cached-only/);
    assert.match(results.https, /--no-remote/);
    await peel.waitFor(/"peel ready"/);
  } finally {
    await master.stop();
  }
});
