/**
 * System states against a throwaway root (the policy's `system_root`) through a real broker:
 * crontabs, /etc/hosts, sysctl (a stand-in proc/sys), the time zone and the locale converge,
 * test mode predicts each first run and changes nothing, bad arguments are named, what the
 * policy does not list is refused, and the audit log has the operations.
 */
import assert from "node:assert/strict";
import { tempDir } from "../harness/mod.ts";
import { accountRoot } from "../harness/accounts.ts";
import { converges, refusesArgument, snapshot, stateBench } from "../harness/states.ts";

async function systemRoot(dir: string): Promise<string> {
  const root = await accountRoot(dir);
  await Deno.writeTextFile(`${root}/etc/passwd`, "app1:x:2001:2001::/home/app1:/bin/sh\n", {
    append: true,
  });
  await Deno.writeTextFile(`${root}/etc/group`, "crontab:x:101:\napp1:x:2001:\n", { append: true });
  await Deno.mkdir(`${root}/var/spool/cron/crontabs`, { recursive: true });
  await Deno.mkdir(`${root}/proc/sys/net/ipv4`, { recursive: true });
  await Deno.writeTextFile(`${root}/proc/sys/net/ipv4/ip_forward`, "0\n");
  await Deno.mkdir(`${root}/proc/sys/kernel`, { recursive: true });
  await Deno.writeTextFile(`${root}/proc/sys/kernel/core_pattern`, "core\n");
  await Deno.mkdir(`${root}/usr/share/zoneinfo/Europe`, { recursive: true });
  await Deno.writeTextFile(`${root}/usr/share/zoneinfo/Europe/Paris`, "TZif");
  await Deno.writeTextFile(`${root}/etc/hosts`, "127.0.0.1\tlocalhost\n# keep me\n");
  return root;
}

Deno.test("system states - cron.present, env_present and absent in a user's crontab", async () => {
  await using dir = await tempDir();
  const root = await systemRoot(dir.path);
  const b = await stateBench(dir.path, { system_root: root, crontabs: ["app*"] });
  const watched = () => snapshot(root);
  const tab = `${root}/var/spool/cron/crontabs/app1`;
  try {
    const job = { user: "app1", minute: "15", hour: "2", identifier: "backup", comment: "nightly" };
    const added = await converges(b, "cron.present", "/usr/local/bin/backup", job, watched);
    assert.deepEqual(added.changes, { app1: "/usr/local/bin/backup" });
    assert.equal(added.comment, "Cron /usr/local/bin/backup added to app1's crontab");
    await converges(
      b,
      "cron.env_present",
      "MAILTO",
      { user: "app1", value: "ops@example.com" },
      watched,
    );
    const moved = await converges(
      b,
      "cron.present",
      "/usr/local/bin/backup",
      { ...job, hour: "3" },
      watched,
    );
    assert.equal(moved.comment, "Cron /usr/local/bin/backup updated");
    await converges(
      b,
      "cron.present",
      "/usr/bin/true",
      { user: "app1", special: "@reboot" },
      watched,
    );
    assert.equal(
      await Deno.readTextFile(tab),
      "# Lines below here are managed by Salt, do not edit\nMAILTO=ops@example.com\n" +
        "# nightly SALT_CRON_IDENTIFIER:backup\n15 3 * * * /usr/local/bin/backup\n" +
        "# SALT_CRON_IDENTIFIER:/usr/bin/true\n@reboot /usr/bin/true\n",
    );
    const st = await Deno.stat(tab);
    assert.deepEqual([st.uid, st.gid, st.mode! & 0o777], [2001, 101, 0o600]);
    await converges(b, "cron.absent", "/usr/local/bin/backup", {
      user: "app1",
      identifier: "backup",
    }, watched);
    assert.doesNotMatch(await Deno.readTextFile(tab), /backup/);
    await refusesArgument(b, "cron.present", "x", { user: "app1", minute: "1 2" }, "minute");
    await refusesArgument(b, "cron.present", "x", { user: "app1", special: "@never" }, "special");
    await refusesArgument(b, "cron.present", "x\n* * * * * evil", { user: "app1" }, "name");
    const rootTab = await b.apply("cron.present", "/bin/evil", {});
    assert.deepEqual(
      [rootTab.result, rootTab.comment],
      [false, 'Denied by policy: crontab of "root" is not in crontabs'],
    );
  } finally {
    await b.close();
  }
  const ops = (await b.audit()).map((a) => `${a.op} ${a.decision}`);
  assert.ok(ops.includes("cron.write allow") && ops.includes("cron.read deny"), ops.join("\n"));
});

Deno.test("system states - host.present and host.absent edit etc/hosts through write_paths", async () => {
  await using dir = await tempDir();
  const root = await systemRoot(dir.path);
  const b = await stateBench(dir.path, {
    system_root: root,
    read_paths: [],
    write_paths: [`${root}/etc/hosts`],
  });
  const watched = () => snapshot(root);
  try {
    const added = await converges(b, "host.present", "db.internal", {
      ip: ["10.0.0.5", "127.0.0.1"],
    }, watched);
    assert.deepEqual(added.changes, {
      added: { "10.0.0.5": ["db.internal"], "127.0.0.1": ["db.internal"] },
    });
    assert.equal(
      await Deno.readTextFile(`${root}/etc/hosts`),
      "127.0.0.1\tlocalhost db.internal\n# keep me\n10.0.0.5\tdb.internal\n",
    );
    const moved = await converges(
      b,
      "host.present",
      "db.internal",
      { ip: "10.0.0.6", clean: true },
      watched,
    );
    assert.deepEqual(moved.changes, {
      removed: { "127.0.0.1": ["db.internal"], "10.0.0.5": ["db.internal"] },
      added: { "10.0.0.6": ["db.internal"] },
    });
    await converges(b, "host.absent", "db.internal", {}, watched);
    assert.equal(await Deno.readTextFile(`${root}/etc/hosts`), "127.0.0.1\tlocalhost\n# keep me\n");
    await refusesArgument(b, "host.present", "db.internal", { ip: "not-an-ip" }, "ip");
    await refusesArgument(b, "host.present", "bad name!", { ip: "10.0.0.1" }, "name");
  } finally {
    await b.close();
  }
  await using other = await tempDir();
  const r2 = await systemRoot(other.path);
  const n = await stateBench(other.path, { system_root: r2 });
  try {
    const r = await n.apply("host.present", "x.internal", { ip: "10.0.0.1" }, true);
    assert.equal(r.result, false);
    assert.match(
      r.comment,
      /Denied by policy: read of ".*\/etc\/hosts" is outside the allowed paths/,
    );
  } finally {
    await n.close();
  }
});

Deno.test("system states - sysctl.present sets proc/sys and its config, for the listed keys", async () => {
  await using dir = await tempDir();
  const root = await systemRoot(dir.path);
  const b = await stateBench(dir.path, { system_root: root, sysctl: ["net.ipv4.*"] });
  const watched = () => snapshot(root);
  try {
    const set = await converges(b, "sysctl.present", "net.ipv4.ip_forward", { value: 1 }, watched);
    assert.deepEqual(set.changes, { "net.ipv4.ip_forward": "1" });
    assert.equal(set.comment, "Updated sysctl value net.ipv4.ip_forward = 1");
    assert.equal(await Deno.readTextFile(`${root}/proc/sys/net/ipv4/ip_forward`), "1\n");
    assert.equal(
      await Deno.readTextFile(`${root}/etc/sysctl.d/99-salt.conf`),
      "net.ipv4.ip_forward = 1\n",
    );
    const none = await b.apply("sysctl.present", "net.ipv4.no_such_key", { value: 1 });
    assert.deepEqual([none.result, none.comment], [
      false,
      "Sysctl option net.ipv4.no_such_key does not exist",
    ]);
    const core = await b.apply("sysctl.present", "kernel.core_pattern", { value: "|/tmp/x" });
    assert.deepEqual(
      [core.result, core.comment],
      [false, 'Denied by policy: sysctl "kernel.core_pattern" is not in sysctl'],
    );
    assert.equal(await Deno.readTextFile(`${root}/proc/sys/kernel/core_pattern`), "core\n");
    const conf = await b.apply("sysctl.present", "net.ipv4.ip_forward", {
      value: 1,
      config: "/etc/cron.d/evil",
    });
    assert.match(conf.comment, /field "args.config": expected \/etc\/sysctl.conf or/);
    await refusesArgument(b, "sysctl.present", "net.ipv4.ip_forward", {}, "value");
  } finally {
    await b.close();
  }
});

Deno.test("system states - timezone.system and locale.system, locale.present in test mode", async () => {
  await using dir = await tempDir();
  const root = await systemRoot(dir.path);
  const b = await stateBench(dir.path, {
    system_root: root,
    timezone: true,
    read_paths: [],
    write_paths: [`${root}/etc/default/locale`, `${root}/etc/locale.gen`],
  });
  const watched = () => snapshot(root);
  try {
    const tz = await converges(b, "timezone.system", "Europe/Paris", {}, watched);
    assert.deepEqual([tz.changes, tz.comment], [
      { timezone: "Europe/Paris" },
      "Set timezone Europe/Paris",
    ]);
    assert.equal(await Deno.readLink(`${root}/etc/localtime`), "/usr/share/zoneinfo/Europe/Paris");
    assert.equal(await Deno.readTextFile(`${root}/etc/timezone`), "Europe/Paris\n");
    const nowhere = await b.apply("timezone.system", "Mars/Olympus", {});
    assert.deepEqual([nowhere.result, nowhere.comment], [
      false,
      'No time zone "Mars/Olympus" in /usr/share/zoneinfo',
    ]);
    const up = await b.apply("timezone.system", "../../etc/shadow", {});
    assert.match(up.comment, /field "args.zone": expected a time zone/);

    await Deno.mkdir(`${root}/etc/default`, { recursive: true });
    await Deno.writeTextFile(`${root}/etc/default/locale`, 'LANG="C.UTF-8"\nLC_TIME=C\n');
    const loc = await converges(b, "locale.system", "de_DE.UTF-8", {}, watched);
    assert.deepEqual(loc.changes, { locale: "de_DE.UTF-8" });
    assert.equal(
      await Deno.readTextFile(`${root}/etc/default/locale`),
      "LANG=de_DE.UTF-8\nLC_TIME=C\n",
    );
    await Deno.writeTextFile(`${root}/etc/locale.gen`, "# de_DE.UTF-8 UTF-8\n");
    const before = await watched();
    const gen = await b.apply("locale.present", "de_DE.UTF-8", {}, true);
    assert.deepEqual([gen.result, gen.changes], [null, { locale: "de_DE.UTF-8" }]);
    assert.deepEqual(await watched(), before);
    await refusesArgument(b, "locale.system", "not a locale", {}, "name");
  } finally {
    await b.close();
  }
  await using other = await tempDir();
  const r2 = await systemRoot(other.path);
  const n = await stateBench(other.path, { system_root: r2 });
  try {
    const r = await n.apply("timezone.system", "Europe/Paris", {}, true);
    assert.deepEqual([r.result, r.comment], [
      false,
      "Denied by policy: the time zone may not be set (timezone is off)",
    ]);
  } finally {
    await n.close();
  }
});
