/**
 * The peel process, started exactly as production starts it, cannot leave its sandbox: a probe
 * preloaded into that very process tries what an attacker who took over the peel would try.
 */
import assert from "node:assert/strict";
import { parseConfig, PeelConfig, peelPermissionFlags } from "../../lib/config/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import { freePort, masterConfig, startNatsServer, startPeel, tempDir } from "../harness/mod.ts";

const PROBE = (dataDir: string, base: string, otherPort: number) => `
const results = {};
async function attempt(name, fn) {
  try { await fn(); results[name] = "allowed"; }
  catch (e) { results[name] = e instanceof Deno.errors.NotCapable ? "NotCapable" : "error: " + e.message; }
}
await attempt("write_data_dir", async () => {
  await Deno.mkdir(${JSON.stringify(dataDir)}, { recursive: true });
  await Deno.writeTextFile(${JSON.stringify(dataDir + "/probe.txt")}, "ok");
});
await attempt("write_outside", () => Deno.writeTextFile(${
  JSON.stringify(base + "/escaped.txt")
}, "x"));
await attempt("write_tmp", () => Deno.writeTextFile("/tmp/zester-probe-escape", "x"));
await attempt("read_shadow", () => Deno.readTextFile("/etc/shadow"));
await attempt("spawn_sh", () => new Deno.Command("/bin/sh", { args: ["-c", "true"] }).output());
await attempt("spawn_deno", () => new Deno.Command(Deno.execPath(), { args: ["--version"] }).output());
await attempt("spawn_deno_by_name", () => new Deno.Command("deno", { args: ["--version"] }).output());
await attempt("connect_other", async () => (await Deno.connect({ hostname: "127.0.0.1", port: ${otherPort} })).close());
await attempt("env_home", () => Deno.env.get("HOME"));
await attempt("ffi", () => Deno.dlopen("libc.so.6", {}));
console.error("SANDBOX_PROBE " + JSON.stringify(results));
`;

Deno.test("sandbox - the production peel process cannot escape its permissions", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path),
    new Logger({ level: "error", sink: () => {} }),
  );
  const other = Deno.listen({ hostname: "127.0.0.1", port: freePort() });
  try {
    const base = `${dir.path}/peels/web-01`;
    const probe = `${dir.path}/probe.js`;
    await Deno.writeTextFile(probe, PROBE(`${base}/data`, base, (other.addr as Deno.NetAddr).port));
    await using peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01", {
      denoFlags: [`--preload=${probe}`],
    });
    const cfg = parseConfig(await Deno.readTextFile(peel.configPath), peel.configPath, PeelConfig);
    assert.deepEqual(
      peel.flags,
      [...peelPermissionFlags(cfg, peel.configPath), `--preload=${probe}`],
      "the peel runs with the production flags and nothing more",
    );
    const line = await peel.waitFor(/SANDBOX_PROBE/);
    const results = JSON.parse(line.slice(line.indexOf("{")));
    assert.deepEqual(results, {
      write_data_dir: "allowed",
      write_outside: "NotCapable",
      write_tmp: "NotCapable",
      read_shadow: "NotCapable",
      spawn_sh: "NotCapable",
      spawn_deno: "NotCapable",
      spawn_deno_by_name: "NotCapable",
      connect_other: "NotCapable",
      env_home: "NotCapable",
      ffi: "NotCapable",
    });
    await assert.rejects(Deno.stat(`${base}/escaped.txt`), Deno.errors.NotFound);
    // And with all that, the peel itself still works.
    await peel.waitFor(/"peel ready"/);
  } finally {
    other.close();
    await master.stop();
  }
});
