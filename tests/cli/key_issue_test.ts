/**
 * `zester key issue`: a peel's creds and client certificate written offline from the deployment,
 * secrets 0600, that connect with the peel role's permissions and no more.
 */
import assert from "node:assert/strict";
import type { NatsConnection, Status } from "nats";
import { closeBus, connectBus, subjects } from "../../lib/bus/mod.ts";
import { CliConfig, cliPermissionFlags, keyIssuePermissionFlags } from "../../lib/config/mod.ts";
import { devTrust, runZester, startNatsServer, tempDir } from "../harness/mod.ts";

function violations(nc: NatsConnection): string[] {
  const seen: string[] = [];
  (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as Status & { permissionContext?: { operation: string; subject: string } })
        .permissionContext;
      if (ctx) seen.push(`${ctx.operation} ${ctx.subject}`);
    }
  })();
  return seen;
}

async function refused(seen: string[], what: string): Promise<void> {
  for (let i = 0; i < 100 && !seen.includes(what); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(seen.includes(what), `the server did not refuse ${what}: ${JSON.stringify(seen)}`);
}

Deno.test("key issue - offline creds for a peel: 0600, the peel role's permissions, never overwritten", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const deployment = (await devTrust()).dir;
  const out = `${dir.path}/issued`;
  const args = ["key", "issue", "web-07", "--deployment", deployment, "--out", out];

  const denied = await runZester(cliPermissionFlags(CliConfig.parse({})), args);
  assert.equal(denied.code, 2);
  assert.match(denied.stderr, /zester key issue needs .*--allow-write=/);

  const r = await runZester(keyIssuePermissionFlags(deployment, out), args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`nats_creds: ${out}/web-07\\.creds`));
  assert.equal((await Deno.stat(out)).mode! & 0o777, 0o700);
  for (const f of ["web-07.creds", "web-07.key"]) {
    assert.equal((await Deno.stat(`${out}/${f}`)).mode! & 0o777, 0o600, f);
  }
  const again = await runZester(keyIssuePermissionFlags(deployment, out), args);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /Refusing to overwrite ".*web-07\.creds"/);
  const bad = await runZester(keyIssuePermissionFlags(deployment, out), [
    "key",
    "issue",
    "../x",
    "--deployment",
    deployment,
    "--out",
    out,
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /peel id/);

  const nc = await connectBus({
    servers: [ns.url],
    name: "zester-peel-web-07",
    credsFile: `${out}/web-07.creds`,
    caFile: `${deployment}/tls/ca.pem`,
    certFile: `${out}/web-07.pem`,
    keyFile: `${out}/web-07.key`,
  });
  const seen = violations(nc);
  try {
    const own = nc.subscribe(subjects.cmd("web-07"));
    await nc.flush();
    assert.equal(own.isClosed(), false, "its own command subject");
    nc.subscribe(subjects.cmd("web-08"));
    await refused(seen, `subscription ${subjects.cmd("web-08")}`);
    nc.publish(subjects.fact("web-08"), new Uint8Array());
    await refused(seen, `publish ${subjects.fact("web-08")}`);
    nc.publish(subjects.dispatch, new Uint8Array());
    await refused(seen, `publish ${subjects.dispatch}`);
    assert.ok(!seen.some((v) => v.includes("web-07")), JSON.stringify(seen));
  } finally {
    await closeBus(nc, 2_000);
  }
});
