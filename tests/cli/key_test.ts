/**
 * `zester key`: enrollments listed, accepted (by id or glob), rejected, revoked and shown
 * through the masters, with salt-key's flags; a rejected peel is told so and gets no creds.
 */
import assert from "node:assert/strict";
import { fingerprint } from "../../lib/enroll/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import {
  devEnrollment,
  freePort,
  masterConfig,
  runZester,
  startNatsServer,
  startPeel,
  tempDir,
  writeCliConfig,
} from "../harness/mod.ts";
import { EnrollApi } from "../harness/enroll.ts";

Deno.test("key - list, accept by id and glob, reject, revoke, show, and salt-key's flags", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const port = freePort();
  const master = await Master.start(
    await masterConfig(ns.url, dir.path, { enroll: await devEnrollment(port) }),
    new Logger({ level: "error", sink: () => {} }),
  );
  const api = await EnrollApi.at(port);
  const cfg = `${dir.path}/cli.yaml`;
  const flags = await writeCliConfig(cfg, ns.url);
  const key = (...args: string[]) => runZester(flags, ["--config", cfg, "key", ...args]);
  try {
    const keys = new Map<string, string>();
    for (const id of ["web-01", "web-02"]) keys.set(id, (await api.enroll(id)).key.getPublicKey());
    const dbKey = (await api.enroll("db-01")).key;
    keys.set("db-01", dbKey.getPublicKey());

    const all = await key("-L");
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^PEEL\s+STATUS\s+UPDATED\s+BY/);
    for (const id of keys.keys()) assert.match(all.stdout, new RegExp(`${id}\\s+pending`));

    const glob = await key("accept", "web-*");
    assert.equal(glob.stdout.trim(), "web-01: approved\nweb-02: approved");
    const none = await key("accept", "web-*");
    assert.equal(none.code, 2);
    assert.match(none.stdout, /No pending enrollments match "web-\*"/);

    const rejected = await key("-r", "db-01");
    assert.equal(rejected.stdout.trim(), "db-01: rejected");
    const late = await key("accept", "db-01");
    assert.equal(late.code, 2);
    assert.match(late.stderr, /Cannot make enrollment "db-01" approved: it is rejected/);

    const revoked = await key("revoke", "web-02");
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout.trim(), "web-02: revoked");

    const json = await key("list", "--status", "approved", "--format", "json");
    const approved = JSON.parse(json.stdout) as { id: string; jwt?: string }[];
    assert.deepEqual(approved.map((r) => r.id), ["web-01"]);
    assert.equal(approved[0]!.jwt, undefined);

    const show = await key("show", "web-01");
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /Status:\s+approved/);
    assert.match(
      show.stdout,
      new RegExp(`Nkey fingerprint:\\s+${fingerprint(keys.get("web-01")!)}`),
    );
    assert.match(show.stdout, /Box key fingerprint:\s+([0-9a-f]{2}:){31}[0-9a-f]{2}/);
    assert.match(show.stdout, /approved\s+\S+\s+cli:/);

    const unknown = await key("show", "nobody");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No enrollment record found for "nobody"/);
    await api.enroll("db-02");
    const acceptAll = await key("-A");
    assert.equal(acceptAll.stdout.trim(), "db-02: approved");

    // A peel an operator rejects is told so, and writes no creds.
    await using peel = await startPeel(`${dir.path}/peels`, ns.url, "db-03", {
      enroll: `https://127.0.0.1:${port}`,
      ready: false,
    });
    await peel.waitFor(/waiting for an operator/);
    assert.equal((await key("reject", "db-03")).stdout.trim(), "db-03: rejected");
    assert.equal((await peel.status).code, 1);
    assert.match(peel.output(), /Enrollment of \\"db-03\\" is rejected/);
    await assert.rejects(Deno.stat(`${dir.path}/peels/db-03/data/peel.creds`));

    // salt-key -d: a rejected peel deleted may ask again with the same key, and waits anew.
    const deleted = await key("-d", "db-01");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout.trim(), "db-01: deleted");
    const twice = await key("delete", "db-01");
    assert.equal(twice.stdout.trim(), "db-01: deleted", "deleting again changes nothing");
    const back = await api.enroll("db-01", { key: dbKey });
    assert.equal(back.status, 202, JSON.stringify(back.body));
    assert.equal(back.body.status, "pending");
    const history = await key("show", "db-01");
    assert.match(
      history.stdout,
      /pending.*\n.*rejected\s+\S+\s+cli:.*\n.*deleted\s+\S+\s+cli:.*\n.*pending\s+\S+\s+peel:db-01/,
    );
  } finally {
    api.close();
    await master.stop();
  }
});
