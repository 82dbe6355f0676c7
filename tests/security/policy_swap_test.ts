/**
 * Replacing what the broker trusts: its policy, audit log, launcher, code, Deno and the peel's
 * credentials may not be changed, nor any directory above them — renaming an ancestor and
 * putting a new `peel.yaml` in its place is a policy change. And a policy is refused at load
 * when anyone but root could change it or a directory above it.
 */
import assert from "node:assert/strict";
import { posix } from "node:path";
import { brokerAt, rejectsWith, tempDir, writeYaml } from "../harness/mod.ts";

const CHECKOUT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const DENO_DIR = Deno.env.get("DENO_DIR") || `${Deno.env.get("HOME")}/.cache/deno`;

Deno.test("policy swap - the broker's files and every directory above them cannot be changed", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const conf = `${base}/conf`;
  const logs = `${base}/logs`;
  await Deno.mkdir(conf);
  await Deno.mkdir(logs);
  const c = await brokerAt(base, {
    write_paths: [base, CHECKOUT, posix.dirname(DENO_DIR), posix.dirname(Deno.execPath())],
    audit_log: `${logs}/audit.log`,
  }, { file: `${conf}/peel.yaml`, extra: { nats_creds: `${base}/creds/peel.creds` } });
  const owned = /belongs to the broker/;
  try {
    await c.request("write", { path: `${base}/files/ok`, data: "fine" });
    await rejectsWith(c.request("rename", { from: conf, to: `${base}/conf.old` }), "denied", owned);
    await rejectsWith(c.request("rename", { from: logs, to: `${base}/logs.old` }), "denied", owned);
    await rejectsWith(c.request("remove", { path: logs, recursive: true }), "denied", owned);
    await rejectsWith(c.request("chmod", { path: conf, mode: 0o777 }), "denied", owned);
    await rejectsWith(
      c.request("write", { path: `${conf}/peel.yaml`, data: "x" }),
      "denied",
      owned,
    );
    await rejectsWith(c.request("symlink", { path: `${logs}/audit.log`, target: "/x" }), "denied");
    await rejectsWith(c.request("mkdir", { path: `${base}/creds` }), "denied", owned);
    await rejectsWith(c.request("remove", { path: `${base}/zester-broker` }), "denied", owned);
    await rejectsWith(
      c.request("write", { path: `${CHECKOUT}/peel/broker/zz-probe.ts`, data: "x" }),
      "denied",
      owned,
    );
    await rejectsWith(c.request("mkdir", { path: `${DENO_DIR}/zz-probe` }), "denied", owned);
    const exe = Deno.execPath();
    const exeMode = Deno.statSync(exe).mode! & 0o7777;
    await rejectsWith(c.request("chmod", { path: exe, mode: exeMode }), "denied", owned);
    await rejectsWith(c.request("rename", { from: `${base}/files`, to: conf }), "denied", owned);
    assert.deepEqual([...Deno.readDirSync(conf)].map((e) => e.name), ["peel.yaml"]);
  } finally {
    await c.close();
    await Deno.remove(`${CHECKOUT}/peel/broker/zz-probe.ts`).catch(() => {});
    await Deno.remove(`${DENO_DIR}/zz-probe`).catch(() => {});
  }
});

/** The error a broker with the policy at `file` gives for a policed operation. */
async function loadError(base: string, file: string, broker: Record<string, unknown> = {}) {
  const c = await brokerAt(base, { cmd_run: "allow", ...broker }, { file });
  try {
    await c.request("run", { argv: ["/bin/sh", "-c", "true"] });
    return "";
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.close();
  }
}

Deno.test("policy swap - a policy others could change is refused at load", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  for (const d of ["group", "world", "www", "ok", "sticky", "sticky/root", "sticky/www"]) {
    await Deno.mkdir(`${base}/${d}`);
  }
  await Deno.chmod(`${base}/group`, 0o775);
  await Deno.chmod(`${base}/world`, 0o757);
  await Deno.chown(`${base}/www`, 33, 33);
  await Deno.chmod(`${base}/sticky`, 0o1777);
  await Deno.chown(`${base}/sticky/www`, 33, 33);

  assert.equal(await loadError(base, `${base}/ok/peel.yaml`), "", "a root-only path is fine");
  assert.match(
    await loadError(base, `${base}/group/peel.yaml`),
    /no usable policy.*"[^"]*\/group" is writable by group or others/,
  );
  assert.match(
    await loadError(base, `${base}/world/peel.yaml`),
    /"[^"]*\/world" is writable by group or others/,
  );
  assert.match(await loadError(base, `${base}/www/peel.yaml`), /"[^"]*\/www" is owned by uid 33/);
  // In a root-owned sticky directory (as /tmp is) only root may rename root's entries; an entry
  // of another user makes the directory count as writable by others.
  assert.equal(await loadError(base, `${base}/sticky/root/peel.yaml`), "");
  assert.match(
    await loadError(base, `${base}/sticky/www/peel.yaml`),
    /"[^"]*\/sticky" is writable by group or others/,
  );
  await writeYaml(`${base}/ok/mine.yaml`, { id: "p" });
  await Deno.chown(`${base}/ok/mine.yaml`, 33, 33);
  assert.match(
    await loadError(base, `${base}/ok/mine.yaml`),
    /"[^"]*\/ok\/mine.yaml" is owned by uid 33/,
  );
  assert.match(
    await loadError(base, `${base}/ok/peel.yaml`, { audit_log: `${base}/world/audit.log` }),
    /Refusing audit log .*"[^"]*\/world" is writable by group or others/,
  );
});
