/**
 * setuid and setgid files: a broker running as root that writes or chmods a file setuid is a
 * root shell for anyone who can run that file. Such modes need `allow_setid: true`, and files
 * may be given only to root and the users and groups listed in `owners`.
 */
import assert from "node:assert/strict";
import { brokerAt, rejectsWith, tempDir } from "../harness/mod.ts";

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o7777;
}

Deno.test("setid - setuid and setgid modes are refused by write, chmod and mkdir", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await brokerAt(base);
  const f = `${base}/files/tool`;
  try {
    await rejectsWith(
      c.request("write", { path: f, data: "#!/bin/sh\n", mode: 0o4755, user: "root" }),
      "denied",
      /mode "4755" sets setuid or setgid \(allow_setid is off\)/,
    );
    await assert.rejects(Deno.stat(f), Deno.errors.NotFound);
    await c.request("write", { path: f, data: "#!/bin/sh\n", mode: 0o755 });
    await rejectsWith(c.request("chmod", { path: f, mode: 0o6777 }), "denied", /"6777"/);
    await rejectsWith(c.request("chmod", { path: f, mode: 0o2755 }), "denied", /setgid/);
    assert.equal(mode(f), 0o755);
    await rejectsWith(
      c.request("mkdir", { path: `${base}/files/shared`, mode: 0o2775 }),
      "denied",
      /"2775"/,
    );
    await assert.rejects(Deno.stat(`${base}/files/shared`), Deno.errors.NotFound);
  } finally {
    await c.close();
  }
});

Deno.test("setid - allowed with allow_setid: true", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const c = await brokerAt(base, { allow_setid: true });
  const f = `${base}/files/tool`;
  try {
    await c.request("write", { path: f, data: "#!/bin/sh\n", mode: 0o4755, user: "root" });
    assert.equal(mode(f), 0o4755, "the owner is set before the mode, so setuid stays");
    await c.request("chmod", { path: f, mode: 0o6755 });
    assert.equal(mode(f), 0o6755);
    await c.request("mkdir", { path: `${base}/files/shared`, mode: 0o2775 });
    assert.equal(mode(`${base}/files/shared`), 0o2775);
  } finally {
    await c.close();
  }
});

Deno.test("setid - owners other than root must be listed in owners", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const f = `${base}/files/page`;
  const strict = await brokerAt(base);
  try {
    await rejectsWith(
      strict.request("write", { path: f, data: "x", user: "www-data" }),
      "denied",
      /owner "www-data" is not in owners/,
    );
    await strict.request("write", { path: f, data: "x", user: "root", group: "0" });
    await rejectsWith(
      strict.request("chown", { path: f, group: "www-data" }),
      "denied",
      /group "www-data" is not in owners/,
    );
    await rejectsWith(strict.request("chown", { path: f, user: "33" }), "denied", /"33"/);
    assert.equal(Deno.statSync(f).uid, 0);
  } finally {
    await strict.close();
  }
  const listed = await brokerAt(base, { owners: ["www-data"] });
  try {
    await listed.request("chown", { path: f, user: "www-data", group: "www-data" });
    const st = Deno.statSync(f);
    assert.deepEqual([st.uid, st.gid], [33, 33]);
    await listed.request("write", { path: f, data: "y", user: "33" });
    assert.equal(Deno.statSync(f).uid, 33);
  } finally {
    await listed.close();
  }
});
