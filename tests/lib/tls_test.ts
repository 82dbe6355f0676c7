/** TLS to nats-server, mutual: the bus connects with a CA, a client certificate and a key. */
import assert from "node:assert/strict";
import { connectBus } from "../../lib/bus/mod.ts";
import { startNatsServer, tempDir } from "../harness/mod.ts";

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function certs(dir: string): Promise<void> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=zester-test-ca",
  ], dir);
  for (
    const [name, ext] of [["server", "subjectAltName=IP:127.0.0.1,DNS:localhost"], [
      "client",
      "extendedKeyUsage=clientAuth",
    ]]
  ) {
    await openssl([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ], dir);
    await Deno.writeTextFile(`${dir}/${name}.ext`, ext + "\n");
    await openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    ], dir);
  }
}

Deno.test("bus - mutual TLS with a CA, client certificate and key", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await certs(d);
  await using ns = await startNatsServer({
    args: [
      "--tlsverify",
      "--tlscert",
      `${d}/server.pem`,
      "--tlskey",
      `${d}/server.key`,
      "--tlscacert",
      `${d}/ca.pem`,
    ],
  });
  const url = `tls://127.0.0.1:${ns.port}`;
  const nc = await connectBus({
    servers: [url],
    name: "tls-test",
    caFile: `${d}/ca.pem`,
    certFile: `${d}/client.pem`,
    keyFile: `${d}/client.key`,
  });
  try {
    const sub = nc.subscribe("tls.echo", { callback: (_e, m) => m.respond(m.data) });
    const r = await nc.request("tls.echo", new TextEncoder().encode("over tls"), {
      timeout: 2_000,
    });
    assert.equal(new TextDecoder().decode(r.data), "over tls");
    sub.unsubscribe();
  } finally {
    await nc.close();
  }
  // Without a client certificate the server refuses the connection, and its late TLS alert
  // (after the handshake, where nats.js no longer listens) must not end the process.
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      connectBus({
        servers: [url],
        name: "no-cert",
        caFile: `${d}/ca.pem`,
        connectTimeoutMs: 1_000,
      }).then((c) => c.close()),
    );
  }
});
