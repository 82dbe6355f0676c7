/**
 * Attacks through the account operations, against a real broker on a throwaway root: becoming
 * root in disguise (uid 0, a privileged group, a system account), reaching outside the homes
 * the policy allows (a home in /etc, then purging it), and a user's planted link redirecting
 * the broker's write of its authorized_keys. Each is refused, and this machine's accounts are
 * never touched.
 */
import assert from "node:assert/strict";
import { BrokerError } from "../../peel/broker/mod.ts";
import { tempDir } from "../harness/mod.ts";
import { accountRoot, hostAccounts } from "../harness/accounts.ts";
import { snapshot, stateBench } from "../harness/states.ts";

async function denied(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.code, "denied", e.message);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("accounts - root in disguise: uid 0, privileged groups, system accounts, root itself", async () => {
  const host = await hostAccounts();
  await using dir = await tempDir();
  const root = await accountRoot(dir.path);
  const b = await stateBench(dir.path, {
    system_root: root,
    accounts: { users: ["*"], groups: ["app*"] },
  });
  const before = await snapshot(root);
  try {
    const c = b.broker;
    await denied(c.request("user.add", { name: "toor", uid: 0 }), /uid 0 is root's/);
    await denied(c.request("user.add", { name: "app1", gid: "root" }), /gid 0 is root's/);
    await denied(c.request("user.add", { name: "app1", gid: 27 }), /gid 27 is a system account's/);
    await denied(
      c.request("user.add", { name: "app1", groups: ["sudo"] }),
      /group "sudo" is not in accounts.groups/,
    );
    await denied(
      c.request("user.add", { name: "app1", uid: 999 }),
      /uid 999 is a system account's/,
    );
    await denied(
      c.request("user.add", { name: "app1", system: true }),
      /system accounts need accounts.system/,
    );
    await denied(c.request("user.mod", { name: "root", shell: "/bin/sh" }), /uid 0 is root's/);
    await denied(
      c.request("user.mod", { name: "www-data", shell: "/bin/bash" }),
      /uid 33 is a system account's/,
    );
    await denied(c.request("user.del", { name: "root" }), /uid 0 is root's/);
    await denied(
      c.request("ssh_auth.write", { user: "root", text: "ssh-ed25519 AAAA x\n" }),
      /uid 0 is root's/,
    );
    await denied(
      c.request("group.mod", { name: "sudo", members: ["app1"] }),
      /group "sudo" is not in accounts.groups/,
    );
    const s = await b.apply("user.present", "app1", { groups: ["sudo"] });
    assert.equal(s.result, false);
    assert.match(s.comment, /Denied by policy: group "sudo" is not in accounts.groups/);
    await b.apply("group.present", "app-x", {});
    await b.apply("user.present", "app1", { groups: ["app-x"] });
    await Deno.writeTextFile(
      `${root}/etc/group`,
      (await Deno.readTextFile(`${root}/etc/group`)).replace("sudo:x:27:", "sudo:x:27:app1"),
    );
    await denied(
      c.request("user.mod", { name: "app1", groups: [] }),
      /group "sudo" is not in accounts.groups/,
    );
  } finally {
    await b.close();
  }
  assert.notDeepEqual(await snapshot(root), before, "what the policy allows was done");
  assert.equal(await hostAccounts(), host);
});

Deno.test("accounts - a home outside accounts.homes is refused, and so is purging one", async () => {
  await using dir = await tempDir();
  const root = await accountRoot(dir.path);
  const b = await stateBench(dir.path, { system_root: root, accounts: { users: ["app*"] } });
  try {
    await denied(
      b.broker.request("user.add", { name: "app1", home: "/etc" }),
      /home "\/etc" is not under accounts.homes/,
    );
    await denied(
      b.broker.request("user.add", { name: "app1", home: "/home/../etc" }),
      /home "\/home\/..\/etc" is not under/,
    );
    await b.broker.request("user.add", { name: "app1" });
    await Deno.writeTextFile(
      `${root}/etc/passwd`,
      (await Deno.readTextFile(`${root}/etc/passwd`)).replace("/home/app1", "/etc"),
    );
    await denied(
      b.broker.request("user.del", { name: "app1", purge: true }),
      /home "\/etc" is not under accounts.homes/,
    );
    await denied(
      b.broker.request("user.mod", { name: "app1", home: "/home/app1", move_home: true }),
      /home "\/etc"/,
    );
    assert.ok((await Deno.stat(`${root}/etc/passwd`)).isFile);
  } finally {
    await b.close();
  }
});

Deno.test("accounts - a link the user planted in its home does not redirect the authorized_keys write", async () => {
  await using dir = await tempDir();
  const root = await accountRoot(dir.path);
  const b = await stateBench(dir.path, { system_root: root, accounts: { users: ["app*"] } });
  try {
    await b.broker.request("user.add", { name: "app1", uid: 2001 });
    await Deno.mkdir(`${root}/root/.ssh`, { recursive: true, mode: 0o700 });
    await Deno.symlink(`${root}/root/.ssh`, `${root}/home/app1/.ssh`);
    await assert.rejects(
      b.broker.request("ssh_auth.write", { user: "app1", text: "ssh-ed25519 AAAA evil\n" }),
      (e) => e instanceof BrokerError && e.code === "failed" && /Permission denied/.test(e.message),
    );
    await assert.rejects(Deno.stat(`${root}/root/.ssh/authorized_keys`), Deno.errors.NotFound);
  } finally {
    await b.close();
  }
});
