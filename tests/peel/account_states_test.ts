/**
 * Account states against a throwaway root (`useradd --prefix` and friends through a real
 * broker): users, groups and authorized keys converge, test mode predicts each first run and
 * changes nothing, bad arguments are named, and the broker's audit log has each operation.
 */
import assert from "node:assert/strict";
import { tempDir } from "../harness/mod.ts";
import { accountRoot, hostAccounts } from "../harness/accounts.ts";
import { converges, refusesArgument, snapshot, stateBench } from "../harness/states.ts";

const HASH =
  "$6$zester$3xGdHqqGq1Ijmh8Ew0sTq0bV7B3m1e1Qe0T0Jx9o7cP1tq2yC0Qy3H5x7pL8wK2mZ4nR6sV9uA1bD3fG5hJ7k/";
const KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIBzesterTestKeyOnlyForTestsZesterTestKey00";

async function bench(dir: string) {
  const root = await accountRoot(dir);
  const b = await stateBench(dir, {
    system_root: root,
    accounts: { users: ["app*"], groups: ["app*"], homes: ["/home", "/srv"] },
  });
  return { b, root, watched: () => snapshot(root) };
}

Deno.test("account states - group.present and user.present create, then keep, then change", async () => {
  const host = await hostAccounts();
  await using dir = await tempDir();
  const { b, root, watched } = await bench(dir.path);
  try {
    const grp = await converges(b, "group.present", "app-data", { gid: 2001 }, watched);
    assert.deepEqual(grp.changes, { name: "app-data", gid: 2001 });
    assert.equal(grp.comment, "New group app-data created");
    await converges(b, "group.present", "app-web", {}, watched);
    const args = {
      uid: 2001,
      gid: "app-data",
      groups: ["app-web"],
      home: "/srv/app1",
      shell: "/bin/bash",
      fullname: "App One",
      password: HASH,
    };
    const user = await converges(b, "user.present", "app1", args, watched);
    assert.deepEqual(user.changes, {
      name: "app1",
      uid: 2001,
      gid: "app-data",
      groups: ["app-web"],
      home: "/srv/app1",
      shell: "/bin/bash",
      fullname: "App One",
      passwd: "XXX-REDACTED-XXX",
    });
    const passwd = await Deno.readTextFile(`${root}/etc/passwd`);
    assert.match(passwd, /^app1:x:2001:2001:App One:\/srv\/app1:\/bin\/bash$/m);
    assert.match(
      await Deno.readTextFile(`${root}/etc/shadow`),
      new RegExp(`^app1:${HASH.replaceAll("$", "\\$")}:`, "m"),
    );
    assert.match(await Deno.readTextFile(`${root}/etc/group`), /^app-web:x:\d+:app1$/m);
    assert.equal((await Deno.stat(`${root}/srv/app1`)).uid, 2001);

    const changed = await converges(b, "user.present", "app1", {
      ...args,
      shell: "/bin/sh",
      groups: [],
      password: HASH.replace("zester", "other"),
    }, watched);
    assert.deepEqual(changed.changes, { groups: [], shell: "/bin/sh", passwd: "XXX-REDACTED-XXX" });
    assert.equal(changed.comment, "Updated user app1");
    assert.doesNotMatch(await Deno.readTextFile(`${root}/etc/group`), /^app-web:x:\d+:app1$/m);
    const moved = await b.apply("user.present", "app1", { uid: 2002 });
    assert.deepEqual(
      [moved.result, moved.comment.split(",")[0]],
      [false, "Changing uid (2001 -> 2002) not permitted"],
    );
    const members = await converges(b, "group.present", "app-web", { members: ["app1"] }, watched);
    assert.deepEqual(members.changes, { members: ["app1"] });

    await refusesArgument(b, "user.present", "app2", { uid: "many" }, "uid");
    await refusesArgument(
      b,
      "user.present",
      "app2",
      { hash_password: true, password: "x" },
      "hash_password",
    );
    await refusesArgument(
      b,
      "group.present",
      "app-x",
      { members: ["a"], addusers: ["b"] },
      "members",
    );

    const gone = await converges(b, "user.absent", "app1", { purge: true }, watched);
    assert.deepEqual([gone.changes, gone.comment], [{ app1: "removed" }, "Removed user app1"]);
    await assert.rejects(Deno.stat(`${root}/srv/app1`), Deno.errors.NotFound);
    await converges(b, "group.absent", "app-web", {}, watched);
    assert.doesNotMatch(await Deno.readTextFile(`${root}/etc/group`), /^app-web:/m);
  } finally {
    await b.close();
  }
  assert.equal(await hostAccounts(), host, "this machine's accounts are untouched");
  const audit = await b.audit();
  const allowed = new Set(audit.filter((a) => a.decision === "allow").map((a) => a.op));
  for (
    const op of [
      "user.info",
      "user.add",
      "user.mod",
      "user.del",
      "group.add",
      "group.mod",
      "group.del",
    ]
  ) {
    assert.ok(allowed.has(op), `audit has ${op}`);
  }
  const add = audit.find((a) => a.op === "user.add")!;
  assert.deepEqual((add.args as Record<string, unknown>).password, "<given>");
  assert.ok(!JSON.stringify(audit).includes(HASH.slice(4)), "no password hash in the audit log");
});

Deno.test("account states - ssh_auth.present and absent edit the user's authorized_keys as that user", async () => {
  await using dir = await tempDir();
  const { b, root, watched } = await bench(dir.path);
  try {
    await converges(b, "user.present", "app1", { uid: 2001, home: "/home/app1" }, watched);
    const key = `ssh-ed25519 ${KEY} ops@example`;
    const added = await converges(b, "ssh_auth.present", key, { user: "app1" }, watched);
    assert.deepEqual(added.changes, { [key]: "New" });
    const file = `${root}/home/app1/.ssh/authorized_keys`;
    assert.equal(await Deno.readTextFile(file), `ssh-ed25519 ${KEY} ops@example\n`);
    const st = await Deno.stat(file);
    assert.deepEqual([st.uid, st.mode! & 0o777], [2001, 0o600]);
    assert.equal((await Deno.stat(`${root}/home/app1/.ssh`)).mode! & 0o777, 0o700);
    const updated = await converges(b, "ssh_auth.present", KEY, {
      user: "app1",
      enc: "ssh-ed25519",
      options: ["no-pty", 'from="10.0.0.0/8"'],
      comment: "ops",
    }, watched);
    assert.deepEqual(updated.changes, { [KEY]: "Updated" });
    assert.equal(
      await Deno.readTextFile(file),
      `no-pty,from="10.0.0.0/8" ssh-ed25519 ${KEY} ops\n`,
    );
    const removed = await converges(b, "ssh_auth.absent", KEY, { user: "app1" }, watched);
    assert.deepEqual(removed.changes, { [KEY]: "Removed" });
    assert.equal(await Deno.readTextFile(file), "");
    // Salt's `source`: every key of a state tree file, options included.
    const key2 = KEY.replace("00", "11");
    await Deno.mkdir(`${b.tree}/keys`);
    await Deno.writeTextFile(
      `${b.tree}/keys/app1.pub`,
      `# team keys\nssh-ed25519 ${KEY} ops\nno-pty,from="10.0.0.0/8" ssh-ed25519 ${key2} ci\n`,
    );
    const fromSource = await converges(b, "ssh_auth.present", "team", {
      user: "app1",
      source: "salt://keys/app1.pub",
    }, watched);
    assert.equal(Object.keys(fromSource.changes).length, 2);
    assert.equal(
      await Deno.readTextFile(file),
      `ssh-ed25519 ${KEY} ops\nno-pty,from="10.0.0.0/8" ssh-ed25519 ${key2} ci\n`,
    );
    await converges(b, "ssh_auth.absent", "team", {
      user: "app1",
      source: "salt://keys/app1.pub",
    }, watched);
    assert.equal(await Deno.readTextFile(file), "");
    await refusesArgument(b, "ssh_auth.present", "team", {
      user: "app1",
      source: "salt://keys/none.pub",
    }, "source");
    await refusesArgument(b, "ssh_auth.present", "not a key!", { user: "app1" }, "name");
    // Pillar placeholders: Salt's test mode predicts them; ours too, saying applying will fail.
    const placeholder = await b.apply("ssh_auth.present", "PUBLICKEY", { user: "app1" }, true);
    assert.deepEqual([placeholder.result, placeholder.changes], [null, { PUBLICKEY: "New" }]);
    assert.match(
      placeholder.comment,
      /applying will fail: ssh_auth.present: argument "name" must be an SSH public key .*got "PUBLICKEY"/,
    );
    const noSource = await b.apply("ssh_auth.present", "team", {
      user: "app1",
      source: "salt://keys/none.pub",
    }, true);
    assert.equal(noSource.result, null);
    assert.match(noSource.comment, /applying will fail: .*argument "source"/);
    const gone = await b.apply("ssh_auth.absent", "PUBLICKEY", { user: "app1" }, true);
    assert.equal(gone.result, true);
    assert.match(gone.comment, /^Key is already absent; applying will fail/);
    await refusesArgument(b, "ssh_auth.present", KEY, { user: "app1", enc: "rot13" }, "enc");
    await refusesArgument(b, "ssh_auth.present", KEY, {}, "user");
    const other = await b.apply("ssh_auth.present", KEY, { user: "app1", config: "../../etc/x" });
    assert.equal(other.result, false);
    assert.match(other.comment, /field "args.config": expected a path relative to the home/);
  } finally {
    await b.close();
  }
  const ops = (await b.audit()).filter((a) => a.decision === "allow").map((a) => a.op);
  assert.ok(ops.includes("ssh_auth.write") && ops.includes("ssh_auth.read"));
});
