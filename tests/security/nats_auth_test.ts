/**
 * Attack: connecting to NATS without valid credentials. The server runs in operator mode with
 * mutual TLS: an anonymous client, a client without a certificate, a user signed by a key the
 * account does not know, an expired user and a revoked one all get nothing. A process whose
 * credentials are refused stays alive, says why, and connects once they are good. On the code
 * before operator mode, every one of these connections was accepted.
 */
import assert from "node:assert/strict";
import { createAccount } from "nkeys.js";
import type { NatsConnection } from "nats";
import {
  CredsError,
  decodeJwt,
  issueUser,
  nowSeconds,
  pushAccountJwt,
  readCredsFile,
  writeCredsFile,
} from "../../lib/auth/mod.ts";
import { type BusOptions, closeBus, connectBus } from "../../lib/bus/mod.ts";
import {
  busAs,
  client,
  devTrust,
  issuePeelFiles,
  type NatsFiles,
  runZester,
  startNatsServer,
  startPeel,
  tempDir,
  writeCliConfig,
} from "../harness/mod.ts";

function bus(url: string, f: NatsFiles, creds = true): BusOptions {
  return {
    servers: [url],
    name: "auth-test",
    ...(creds ? { credsFile: f.nats_creds } : {}),
    caFile: f.nats_ca,
    certFile: f.nats_cert,
    keyFile: f.nats_key,
    connectTimeoutMs: 2_000,
  };
}

async function refusedWith(opts: BusOptions, re: RegExp): Promise<void> {
  await assert.rejects(connectBus(opts).then((nc) => nc.close()), re);
}

Deno.test("nats auth - anonymous, certificate-less, foreign, expired and revoked users get nothing", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const { deployment } = await devTrust();
  const f = (await issuePeelFiles(ns.url, "web-01", dir.path))!;

  // No creds at all, and no client certificate.
  await refusedWith(bus(ns.url, f, false), /Authorization Violation/i);
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      connectBus({ ...bus(ns.url, f), certFile: undefined, keyFile: undefined }).then((c) =>
        c.close()
      ),
    );
  }

  // A user signed by a key that is not one of the account's, claiming the account anyway.
  const forged = `${dir.path}/forged.creds`;
  const stranger = {
    name: "ZESTER",
    identity: deployment.account.identity,
    signing: createAccount(),
  };
  await writeCredsFile(forged, issueUser(stranger, { name: "web-01", role: "peel" }));
  await refusedWith({ ...bus(ns.url, f), credsFile: forged }, /Authorization Violation/i);

  // An expired user.
  const expired = `${dir.path}/expired.creds`;
  await writeCredsFile(
    expired,
    deployment.issue({ name: "web-01", role: "peel", expires: nowSeconds() - 1 }),
  );
  await refusedWith({ ...bus(ns.url, f), credsFile: expired }, /expired|Authorization/i);

  // A revoked user is dropped within seconds and cannot come back.
  const nc: NatsConnection = await connectBus(bus(ns.url, f));
  const sys = await connectBus(busAs(ns.url, "sys"));
  try {
    const userKey = decodeJwt((await readCredsFile(f.nats_creds)).jwt).sub;
    // Watch before revoking: the server may drop the connection before the push is answered.
    const statuses = nc.status();
    const dropped = Promise.race([
      nc.closed().then(() => "closed"),
      (async () => {
        for await (const s of statuses) if (s.type === "disconnect") return "disconnected";
      })(),
    ]);
    const t0 = performance.now();
    await pushAccountJwt(sys, deployment.accountJwt({ [userKey]: nowSeconds() }));
    const closed = await Promise.race([
      dropped,
      new Promise((r) => setTimeout(() => r("still connected"), 5_000)),
    ]);
    assert.notEqual(closed, "still connected");
    assert.ok(performance.now() - t0 < 5_000);
    await refusedWith(bus(ns.url, f), /Authorization Violation/i);
  } finally {
    await nc.close();
    await pushAccountJwt(sys, deployment.accountJwt());
    await closeBus(sys, 2_000);
  }
});

Deno.test("nats auth - creds files others can read are refused", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const f = (await issuePeelFiles(ns.url, "web-01", dir.path))!;
  assert.equal((await Deno.stat(f.nats_creds)).mode! & 0o777, 0o600);
  await Deno.chmod(f.nats_creds, 0o644);
  await assert.rejects(connectBus(bus(ns.url, f)), CredsError);
  await Deno.chmod(f.nats_creds, 0o640);
  const warned: string[] = [];
  await readCredsFile(f.nats_creds, (m) => warned.push(m));
  assert.match(warned.join(), /group can read it/);
  const nc = await client(ns.url);
  await nc.close();
});

Deno.test("nats auth - a peel whose creds are refused stays up, says why, and connects once they are good", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const { deployment } = await devTrust();
  const creds = `${dir.path}/refused.creds`;
  await writeCredsFile(
    creds,
    deployment.issue({ name: "web-01", role: "peel", expires: nowSeconds() - 1 }),
  );
  await using peel = await startPeel(dir.path, ns.url, "web-01", {
    ready: false,
    extra: { nats_creds: creds },
  });
  const line = await peel.waitFor(/bus: connect to NATS: /, 20_000);
  assert.match(line, /expired|Authorization Violation/i);
  await peel.waitFor(/"retry_ms":2000/, 20_000);
  await writeCredsFile(creds, deployment.issue({ name: "web-01", role: "peel" }));
  await peel.waitFor(/"peel ready"/, 30_000);
  assert.ok(!/Uncaught|\n\s+at /.test(peel.output()), peel.output());
});

Deno.test("nats auth - the CLI with refused creds exits 2 and says why", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const { deployment } = await devTrust();
  const cfg = `${dir.path}/cli.yaml`;
  const flags = await writeCliConfig(cfg, ns.url, "reader");
  const creds = `${dir.path}/expired.creds`;
  await writeCredsFile(
    creds,
    deployment.issue({ name: "reader", role: "reader", expires: nowSeconds() - 1 }),
  );
  const text = await Deno.readTextFile(cfg);
  await Deno.writeTextFile(cfg, text.replace(/creds_file: .*/, `creds_file: ${creds}`));
  const r = await runZester(flags, ["--config", cfg, "job", "list"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /zester: Cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+: .*(expired|Authorization)/i,
  );
  assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
});
