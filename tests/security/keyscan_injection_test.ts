/**
 * Option injection into ssh-keyscan through `ssh_known_hosts.present`: a host that ssh-keyscan
 * would read as an option (`-oProxyCommand=…`, `-f /etc/…`; it takes no `--`) is refused by
 * the peel and by a real broker, which runs nothing; a well-formed host outside the policy's
 * `keyscan` is denied, and both are audited.
 */
import assert from "node:assert/strict";
import { auditRecords, brokerAt, rejectsWith, tempDir } from "../harness/mod.ts";
import { stateBench } from "../harness/states.ts";

Deno.test("keyscan injection - hosts that read as options are refused; others need keyscan", async () => {
  await using dir = await tempDir();
  const proof = `${dir.path}/pwned`;
  const c = await brokerAt(dir.path, { keyscan: ["*"] });
  try {
    for (
      const host of [
        `-oProxyCommand=touch ${proof}`,
        `-f${dir.path}/hosts`,
        "-T",
        ".hidden",
        "host name",
        "a,b",
        "user@host",
      ]
    ) {
      await rejectsWith(c.request("ssh.keyscan", { host }), "bad_request", /args\.host/);
    }
    await rejectsWith(c.request("ssh.keyscan", { host: "h", type: "-x" }), "bad_request");
  } finally {
    await c.close();
  }
  await assert.rejects(Deno.lstat(proof), Deno.errors.NotFound);
  assert.ok(!(await auditRecords(dir.path)).some((r) => r.phase === "intent"), "nothing ran");

  await using other = await tempDir();
  const b = await stateBench(other.path, { keyscan: ["*.internal"] });
  try {
    const opt = await b.apply("ssh_known_hosts.present", `-oProxyCommand=touch ${proof}`, {
      config: `${b.files}/known_hosts`,
      fingerprint: "16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48",
    });
    assert.equal(opt.result, false);
    assert.match(opt.comment, /argument "name" must be a host name or IP address/);
    const outside = await b.apply("ssh_known_hosts.present", "example.com", {
      config: `${b.files}/known_hosts`,
      fingerprint: "16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48",
    });
    assert.match(outside.comment, /Denied by policy: host "example.com" is not in keyscan/);
  } finally {
    await b.close();
  }
  await assert.rejects(Deno.lstat(proof), Deno.errors.NotFound);
  const denied = (await b.audit()).filter((r) => r.op === "ssh.keyscan");
  assert.deepEqual(denied.map((r) => r.decision), ["deny"]);
});
