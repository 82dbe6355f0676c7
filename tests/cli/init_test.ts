/** `zester init <dir>`: a deployment nats-server runs as written, with every secret 0600. */
import assert from "node:assert/strict";
import { closeBus, connectBus, subjects } from "../../lib/bus/mod.ts";
import { CliConfig, cliPermissionFlags, initPermissionFlags } from "../../lib/config/mod.ts";
import { freePort, natsServerBin, runZester, tempDir } from "../harness/mod.ts";

Deno.test("init - writes a deployment that nats-server serves, secrets 0600, never overwritten", async () => {
  await using tmp = await tempDir();
  const dir = `${tmp.path}/deploy`;
  const port = freePort();
  const monitor = freePort();
  const args = [
    "init",
    dir,
    "--listen",
    `127.0.0.1:${port}`,
    "--host",
    "127.0.0.1",
    "--monitor",
    `127.0.0.1:${monitor}`,
  ];

  const denied = await runZester(cliPermissionFlags(CliConfig.parse({})), args);
  assert.equal(denied.code, 2, denied.stderr);
  assert.match(denied.stderr, /zester init needs .*--allow-write=/);

  const r = await runZester(initPermissionFlags(dir), args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nats-server -c .*nats-server\.conf/);
  assert.match(r.stdout, /box_key_file: .*creds\/master-box\.key/);
  for (
    const f of [
      "keys/operator.nk",
      "keys/account-signing.nk",
      "creds/master.creds",
      "creds/master-box.key",
    ]
  ) {
    assert.equal((await Deno.stat(`${dir}/${f}`)).mode! & 0o777, 0o600, f);
  }
  for (
    const f of [
      "creds/admin.creds",
      "creds/reader.creds",
      "tls/ca.key",
      "tls/server.key",
      "tls/enroll.key",
    ]
  ) {
    assert.equal((await Deno.stat(`${dir}/${f}`)).mode! & 0o777, 0o600, f);
  }
  assert.match(await Deno.readTextFile(`${dir}/nats-server.conf`), /^http: "127\.0\.0\.1:\d+"$/m);
  const again = await runZester(initPermissionFlags(dir), args);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /Refusing to overwrite/);

  const server = new Deno.Command(natsServerBin(), {
    args: ["-c", `${dir}/nats-server.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const as = (who: string, cert = who) => ({
    servers: [`tls://127.0.0.1:${port}`],
    name: `init-${who}`,
    credsFile: `${dir}/creds/${who}.creds`,
    caFile: `${dir}/tls/ca.pem`,
    certFile: `${dir}/tls/${cert}.pem`,
    keyFile: `${dir}/tls/${cert}.key`,
    connectTimeoutMs: 2_000,
  });
  try {
    let master;
    for (let i = 0; !master; i++) {
      try {
        master = await connectBus(as("master"));
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const varz = await fetch(`http://127.0.0.1:${monitor}/varz`);
    assert.equal((await varz.json()).port, port, "monitoring on loopback");
    const jsm = await master.jetstreamManager();
    assert.ok((await jsm.getAccountInfo()).limits, "JetStream is on for the account");
    const reader = await connectBus(as("reader"));
    const violation = (async () => {
      for await (const s of reader.status()) if (s.type === "error") return String(s.data);
    })();
    reader.publish(subjects.dispatch);
    assert.match(await violation ?? "", /PERMISSIONS_VIOLATION/);
    await closeBus(reader, 1_000);
    await closeBus(master, 1_000);
    await assert.rejects(connectBus({ ...as("admin"), credsFile: undefined }));
    // The certificate names 127.0.0.1 only: "localhost" is refused (and kills nothing).
    await assert.rejects(connectBus({ ...as("admin"), servers: [`tls://localhost:${port}`] }));
  } finally {
    server.kill();
    await server.status;
  }
});
