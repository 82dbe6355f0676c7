/**
 * ssh_known_hosts.present|absent against a real broker and a throwaway root: a managed user's
 * `~/.ssh/known_hosts` (written as that user) and an absolute `config` under the write paths.
 * Entries converge (test mode predicts each first run and changes nothing), hashed entries are
 * OpenSSH's (ssh-keygen -F finds them), bad arguments are named, scanning needs the policy's
 * `keyscan`, and each operation has one intent and one outcome in the audit log.
 */
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { tempDir } from "../harness/mod.ts";
import { accountRoot } from "../harness/accounts.ts";
import {
  auditPaired,
  converges,
  refusesArgument,
  snapshot,
  stateBench,
} from "../harness/states.ts";

/** A well-formed ed25519 public key blob (base64), its 32 key bytes all `fill`. */
function edKey(fill: number): string {
  const type = new TextEncoder().encode("ssh-ed25519");
  const blob = new Uint8Array(4 + type.length + 4 + 32);
  const view = new DataView(blob.buffer);
  view.setUint32(0, type.length);
  blob.set(type, 4);
  view.setUint32(4 + type.length, 32);
  blob.fill(fill, 8 + type.length);
  return btoa(String.fromCharCode(...blob));
}

const sha256 = (key: string) =>
  createHash("sha256").update(Uint8Array.from(atob(key), (c) => c.charCodeAt(0))).digest("hex")
    .match(/../g)!.join(":");

/** Whether `ssh-keygen -F host -f file` finds `host` (undefined: no ssh-keygen here). */
async function keygenFinds(host: string, file: string): Promise<boolean | undefined> {
  const out = await new Deno.Command("ssh-keygen", { args: ["-F", host, "-f", file] }).output()
    .catch(() => undefined);
  return out?.success;
}

/** Whether hashed entry `field` (`|1|salt|hmac`) names `host`, computed here. */
function hmacNames(field: string, host: string): boolean {
  const [, , salt, mac] = field.split("|");
  const key = Uint8Array.from(atob(salt!), (c) => c.charCodeAt(0));
  return createHmac("sha1", key).update(host).digest("base64") === mac;
}

async function bench(dir: string, policy: Record<string, unknown> = {}) {
  const root = await accountRoot(dir);
  const b = await stateBench(dir, {
    system_root: root,
    accounts: { users: ["app*"], groups: ["app*"], homes: ["/home"] },
    ...policy,
  });
  return { b, root, watched: () => snapshot(root) };
}

Deno.test("ssh_known_hosts - present and absent in a user's known_hosts, hashed as OpenSSH hashes", async () => {
  await using dir = await tempDir();
  const { b, root, watched } = await bench(dir.path);
  const key1 = edKey(1);
  const key2 = edKey(2);
  try {
    await converges(b, "user.present", "app1", { uid: 2001, home: "/home/app1" }, watched);
    const file = `${root}/home/app1/.ssh/known_hosts`;
    const added = await converges(b, "ssh_known_hosts.present", "github.com", {
      user: "app1",
      key: key1,
      enc: "ed25519",
    }, watched);
    assert.deepEqual(added.changes, {
      old: null,
      new: [{ hostname: "github.com", enc: "ssh-ed25519", key: key1 }],
    });
    assert.equal(
      added.comment,
      `github.com's key saved to .ssh/known_hosts (key: ${key1})`,
    );
    const [line, ...rest] = (await Deno.readTextFile(file)).split("\n").filter(Boolean);
    assert.deepEqual(rest, []);
    const [field, enc, key] = line!.split(" ");
    assert.deepEqual([enc, key], ["ssh-ed25519", key1]);
    assert.ok(field!.startsWith("|1|") && hmacNames(field!, "github.com"), line);
    assert.notEqual(await keygenFinds("github.com", file), false, "ssh-keygen -F finds it");
    const st = await Deno.stat(file);
    assert.deepEqual([st.uid, st.mode! & 0o777], [2001, 0o600]);

    const ported = await converges(b, "ssh_known_hosts.present", "git.example.com", {
      user: "app1",
      key: key2,
      enc: "ssh-ed25519",
      port: 2222,
      hash_known_hosts: false,
    }, watched);
    assert.deepEqual(ported.changes.new, [
      { hostname: "[git.example.com]:2222", enc: "ssh-ed25519", key: key2 },
    ]);
    assert.ok(
      (await Deno.readTextFile(file)).includes(`\n[git.example.com]:2222 ssh-ed25519 ${key2}\n`),
    );

    const updated = await converges(b, "ssh_known_hosts.present", "github.com", {
      user: "app1",
      key: key2,
      enc: "ssh-ed25519",
    }, watched);
    assert.deepEqual(updated.changes, {
      old: [{ hostname: field, enc: "ssh-ed25519", key: key1, fingerprint: sha256(key1) }],
      new: [{ hostname: "github.com", enc: "ssh-ed25519", key: key2 }],
    });
    assert.doesNotMatch(await Deno.readTextFile(file), new RegExp(key1.slice(0, 30)));

    const byFingerprint = await b.apply("ssh_known_hosts.present", "github.com", {
      user: "app1",
      fingerprint: sha256(key2),
      fingerprint_hash_type: "sha256",
    });
    assert.deepEqual(
      [byFingerprint.result, byFingerprint.changes, byFingerprint.comment],
      [true, {}, "github.com already exists in .ssh/known_hosts"],
    );
    for (const test of [true, false]) {
      const scan = await b.apply("ssh_known_hosts.present", "github.com", {
        user: "app1",
        fingerprint: sha256(key1),
      }, test);
      assert.equal(scan.result, false);
      assert.match(scan.comment, /Denied by policy: host "github.com" is not in keyscan/);
    }

    const removed = await converges(b, "ssh_known_hosts.absent", "github.com", {
      user: "app1",
    }, watched);
    assert.equal((removed.changes.old as unknown[]).length, 1);
    assert.equal(removed.changes.new, null);
    assert.equal(await keygenFinds("github.com", file) ?? false, false);
    const gone = await b.apply("ssh_known_hosts.absent", "github.com", { user: "app1" });
    assert.deepEqual([gone.result, gone.comment], [true, "Host is already absent"]);
    await converges(b, "ssh_known_hosts.absent", "git.example.com", {
      user: "app1",
      port: 2222,
    }, watched);
    assert.equal(await Deno.readTextFile(file), "");

    const args = { user: "app1", key: key1, enc: "ssh-ed25519" };
    // A user an earlier state of the run would create: the dry run predicts against no file.
    const ahead = await b.apply("ssh_known_hosts.present", "h", { ...args, user: "app9" }, true);
    assert.deepEqual([ahead.result, ahead.comment], [
      null,
      "Key for h is set to be added to .ssh/known_hosts",
    ]);
    const real = await b.apply("ssh_known_hosts.present", "h", { ...args, user: "app9" });
    assert.deepEqual([real.result, real.comment], [false, 'No such user "app9"']);
    await refusesArgument(b, "ssh_known_hosts.present", "-oProxyCommand=touch /x", args, "name");
    await refusesArgument(b, "ssh_known_hosts.present", "h", { ...args, enc: undefined }, "enc");
    await refusesArgument(b, "ssh_known_hosts.present", "h", { ...args, enc: "ssh-rsa" }, "key");
    await refusesArgument(b, "ssh_known_hosts.present", "h", {
      ...args,
      fingerprint: sha256(key1),
    }, "fingerprint");
    await refusesArgument(b, "ssh_known_hosts.present", "h", {
      user: "app1",
      fingerprint: "SHA256:abc",
    }, "fingerprint");
    await refusesArgument(b, "ssh_known_hosts.present", "h", { ...args, port: 70000 }, "port");
    await refusesArgument(b, "ssh_known_hosts.present", "h", {
      key: key1,
      enc: "ssh-ed25519",
      config: "known",
    }, "config");
    await refusesArgument(
      b,
      "ssh_known_hosts.absent",
      "h",
      { user: "app1", config: "/etc/x" },
      "config",
    );
    const outsider = await b.apply("ssh_known_hosts.present", "h", { ...args, user: "www-data" });
    assert.match(outsider.comment, /Denied by policy: user "www-data" is not in accounts.users/);
  } finally {
    await b.close();
  }
  await auditPaired(b, ["ssh_auth.read", "ssh_auth.write"]);
  const scans = (await b.audit()).filter((r) => r.op === "ssh.keyscan");
  assert.deepEqual(scans.map((r) => [r.phase, r.decision]), [["done", "deny"], ["done", "deny"]]);
});

Deno.test("ssh_known_hosts - an absolute config under the write paths, without a user", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  const key = edKey(3);
  try {
    const config = `${b.files}/ssh_known_hosts`;
    const added = await converges(b, "ssh_known_hosts.present", "10.0.0.5", {
      config,
      key,
      enc: "ssh-ed25519",
      hash_known_hosts: false,
    });
    assert.deepEqual(added.changes.old, null);
    assert.equal(await Deno.readTextFile(config), `10.0.0.5 ssh-ed25519 ${key}\n`);
    assert.equal((await Deno.stat(config)).mode! & 0o777, 0o644);
    await converges(b, "ssh_known_hosts.absent", "10.0.0.5", { config });
    assert.equal(await Deno.readTextFile(config), "");
    const etc = await b.apply("ssh_known_hosts.present", "10.0.0.5", { key, enc: "ssh-ed25519" });
    assert.equal(etc.result, false);
    assert.match(etc.comment, /"\/etc\/ssh\/ssh_known_hosts" is outside the allowed paths/);
  } finally {
    await b.close();
  }
  await auditPaired(b, ["stat", "read", "write"]);
});
