/** Certificate expiry: daemons warn 14 days ahead. */
import assert from "node:assert/strict";
import { CertificateAuthority, warnIfCertExpiring, writePrivateFile } from "../../lib/auth/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { devTrust, startNatsServer, startPeel, tempDir } from "../harness/mod.ts";

Deno.test("cert expiry - within 14 days or past is a warning, later is not; a peel says so at start", async () => {
  await using dir = await tempDir();
  const ca = await CertificateAuthority.create("expiry test CA");
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l) });
  const write = async (name: string, days: number) => {
    const ck = await ca.issue({ name, usage: "client", days });
    await Deno.writeTextFile(`${dir.path}/${name}.pem`, ck.cert);
    await writePrivateFile(`${dir.path}/${name}.key`, ck.key);
    return `${dir.path}/${name}.pem`;
  };
  assert.equal(await warnIfCertExpiring(await write("later", 30), "NATS client", log), 29);
  assert.deepEqual(lines, []);
  const soon = await write("soon", 10);
  assert.equal(await warnIfCertExpiring(soon, "NATS client", log), 9);
  assert.match(
    lines[0]!,
    /"msg":"TLS certificate expires soon".*"file":".*soon\.pem".*"days_left":9/,
  );
  await warnIfCertExpiring(soon, "NATS client", log, Date.now() + 20 * 86_400_000);
  assert.match(lines[1]!, /"msg":"TLS certificate has expired"/);
  await Deno.writeTextFile(`${dir.path}/junk.pem`, "not a certificate");
  await assert.rejects(
    warnIfCertExpiring(`${dir.path}/junk.pem`, "NATS client", log),
    /Invalid certificate file ".*junk\.pem": expected a PEM certificate/,
  );

  await using ns = await startNatsServer();
  const { deployment } = await devTrust();
  const ck = await deployment.ca.issue({ name: "web-01", usage: "client", days: 5 });
  await Deno.writeTextFile(`${dir.path}/peel.pem`, ck.cert);
  await writePrivateFile(`${dir.path}/peel.key`, ck.key);
  await using peel = await startPeel(`${dir.path}/peels`, ns.url, "web-01", {
    extra: { nats_cert: `${dir.path}/peel.pem`, nats_key: `${dir.path}/peel.key` },
  });
  assert.match(
    await peel.waitFor(/TLS certificate expires soon/),
    /"certificate":"NATS client".*"days_left":4/,
  );
});
