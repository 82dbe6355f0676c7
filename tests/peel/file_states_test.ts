/**
 * The file states against a real broker and a temp root: each converges (test mode predicts
 * the first run's changes and changes nothing; the second run changes nothing), refuses bad
 * arguments by name, and leaves its operations in the audit log.
 */
import assert from "node:assert/strict";
import { tempDir } from "../harness/mod.ts";
import { converges, refusesArgument, snapshot, stateBench } from "../harness/states.ts";

Deno.test("file states - recurse with template, include_pat, exclude_pat and clean", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  try {
    await Deno.mkdir(`${b.tree}/site/conf.d`, { recursive: true });
    await Deno.writeTextFile(`${b.tree}/site/index.html`, "<p>{{ peel_id }}</p>\n");
    await Deno.writeTextFile(`${b.tree}/site/conf.d/a.conf`, "a\n");
    await Deno.writeTextFile(`${b.tree}/site/conf.d/b.conf`, "b\n");
    await Deno.writeTextFile(`${b.tree}/site/notes.txt`, "skip me\n");
    const www = `${b.files}/www`;
    await Deno.mkdir(`${www}/old/deep`, { recursive: true });
    await Deno.writeTextFile(`${www}/old/deep/x`, "x\n");
    await Deno.writeTextFile(`${www}/keep.log`, "log\n");
    const args = {
      source: "salt://site",
      template: "jinja",
      include_pat: "*.*",
      exclude_pat: "E@(\\.txt|\\.log)$",
      clean: true,
      dir_mode: "0750",
      file_mode: "0640",
    };
    const first = await converges(b, "file.recurse", www, args);
    assert.equal(first.comment, `Recursively updated ${www}`);
    assert.deepEqual(first.changes, {
      [www]: { mode: "0750" },
      [`${www}/conf.d`]: { [`${www}/conf.d`]: "New Dir" },
      [`${www}/conf.d/a.conf`]: { diff: "New file" },
      [`${www}/conf.d/b.conf`]: { diff: "New file" },
      [`${www}/index.html`]: { diff: "New file" },
      removed: [`${www}/old`],
    });
    assert.equal(await Deno.readTextFile(`${www}/index.html`), "<p>bench</p>\n");
    assert.equal((await Deno.stat(`${www}/conf.d/a.conf`)).mode! & 0o777, 0o640);
    assert.equal(await Deno.readTextFile(`${www}/keep.log`), "log\n", "excluded: not cleaned");
    await assert.rejects(Deno.stat(`${www}/notes.txt`), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${www}/old`), Deno.errors.NotFound);

    await Deno.writeTextFile(`${b.tree}/site/conf.d/a.conf`, "a2\n");
    const edit = await b.apply("file.recurse", www, args);
    assert.deepEqual(Object.keys(edit.changes), [`${www}/conf.d/a.conf`]);
    assert.match(
      String((edit.changes[`${www}/conf.d/a.conf`] as { diff: string }).diff),
      /-a\n\+a2/,
    );

    // Salt's `keep` leaves modes alone: nothing to change on a converged tree.
    const keep = await b.apply("file.recurse", www, {
      ...args,
      file_mode: "keep",
      dir_mode: "keep",
    });
    assert.deepEqual([keep.result, keep.changes], [true, {}]);

    await refusesArgument(b, "file.recurse", www, { source: "/etc" }, "source");
    await refusesArgument(b, "file.recurse", www, { ...args, dir_mode: "rwx" }, "dir_mode");
    await refusesArgument(b, "file.recurse", www, { ...args, exclude_pat: "E@(" }, "exclude_pat");
    await refusesArgument(b, "file.recurse", www, { ...args, template: "mako" }, "template");
    const outside = await b.apply("file.recurse", `${dir.path}/elsewhere`, args);
    assert.equal(outside.result, false);
    assert.match(outside.comment, /Denied by policy: read of ".*elsewhere" is outside/);
  } finally {
    await b.close();
  }
  const ops = (await b.audit()).filter((a) => a.decision === "allow").map((a) => a.op);
  for (const op of ["list", "mkdir", "chmod", "write", "remove"]) {
    assert.ok(ops.includes(op), `audit has ${op}`);
  }
});

Deno.test("file states - line: ensure, replace, insert and delete", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  try {
    const f = `${b.files}/sshd_config`;
    await Deno.writeTextFile(f, "Port 22\n  PermitRootLogin yes\nUsePAM yes\n");
    const after = await converges(b, "file.line", f, {
      mode: "ensure",
      content: "X11Forwarding no",
      after: "^Port",
    });
    assert.deepEqual(Object.keys(after.changes), ["diff"]);
    assert.equal(after.comment, "Changes were made");
    await converges(b, "file.line", f, {
      mode: "replace",
      match: "PermitRootLogin",
      content: "PermitRootLogin no",
    });
    await converges(b, "file.line", f, { mode: "insert", location: "start", content: "# top" });
    await converges(b, "file.line", f, {
      mode: "insert",
      before: "^UsePAM",
      content: "MaxAuthTries 3",
    });
    await converges(b, "file.line", f, { mode: "delete", content: "UsePAM yes" });
    assert.equal(
      await Deno.readTextFile(f),
      "# top\nPort 22\nX11Forwarding no\n  PermitRootLogin no\nMaxAuthTries 3\n",
    );
    await refusesArgument(b, "file.line", f, { mode: "sideways", content: "x" }, "mode");
    await refusesArgument(b, "file.line", f, { mode: "ensure" }, "content");
    await refusesArgument(b, "file.line", f, { mode: "insert", content: "x" }, "location");
    await refusesArgument(b, "file.line", f, { content: "x", after: "[" }, "after");
    const twice = await b.apply("file.line", f, { content: "y", after: "o" });
    assert.equal(twice.result, false);
    assert.match(twice.comment, /Found 4 expected occurrences in "after" expression/);
  } finally {
    await b.close();
  }
});

Deno.test("file states - blockreplace: replace a marked block, append it when missing", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  try {
    const f = `${b.files}/hosts.allow`;
    await Deno.writeTextFile(f, "ALL: LOCAL\n");
    const args = {
      marker_start: "# BEGIN zester",
      marker_end: "# END zester",
      content: "sshd: 10.0.0.0/8\nsshd: 192.168.0.0/16",
      append_if_not_found: true,
    };
    await converges(b, "file.blockreplace", f, args);
    assert.equal(
      await Deno.readTextFile(f),
      "ALL: LOCAL\n# BEGIN zester\nsshd: 10.0.0.0/8\nsshd: 192.168.0.0/16\n# END zester\n",
    );
    const next = await converges(b, "file.blockreplace", f, { ...args, content: "sshd: ALL" });
    assert.match(
      String(next.changes.diff),
      /-sshd: 10.0.0.0\/8\n-sshd: 192.168.0.0\/16\n\+sshd: ALL/,
    );
    const missing = await b.apply("file.blockreplace", f, {
      content: "x",
      marker_start: "# nope",
    });
    assert.deepEqual(
      [missing.result, missing.comment],
      [false, "Cannot edit marked block. Markers were not found in file."],
    );
    await refusesArgument(
      b,
      "file.blockreplace",
      f,
      { ...args, append_if_not_found: "yes" },
      "append_if_not_found",
    );
  } finally {
    await b.close();
  }
});

Deno.test("file states - serialize json and yaml, merge_if_exists", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  try {
    const j = `${b.files}/app.json`;
    const dataset = { name: "app", ports: [80, 443], tls: { on: true } };
    const first = await converges(b, "file.serialize", j, { dataset, formatter: "json" });
    assert.deepEqual(first.changes, { diff: "New file" });
    assert.equal(
      await Deno.readTextFile(j),
      '{\n  "name": "app",\n  "ports": [\n    80,\n    443\n  ],\n  "tls": {\n    "on": true\n  }\n}\n',
    );
    await converges(b, "file.serialize", j, {
      dataset: { tls: { cert: "/c.pem" } },
      formatter: "json",
      merge_if_exists: true,
    });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(j)).tls, { on: true, cert: "/c.pem" });
    const y = `${b.files}/app.yaml`;
    await converges(b, "file.serialize", y, { dataset, serializer: "yaml", mode: "0600" });
    assert.equal(
      await Deno.readTextFile(y),
      "name: app\nports:\n- 80\n- 443\ntls:\n  on: true\n",
    );
    await refusesArgument(b, "file.serialize", y, { dataset, formatter: "toml" }, "formatter");
    await refusesArgument(b, "file.serialize", y, {}, "dataset");
  } finally {
    await b.close();
  }
});

Deno.test("file states - copy and rename on the host", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  try {
    const src = `${b.files}/app.conf.dist`;
    await Deno.writeFile(src, new Uint8Array([0, 1, 2, 255]), { mode: 0o600 });
    const copied = await converges(b, "file.copy", `${b.files}/app.conf`, {
      source: src,
      preserve: true,
    });
    assert.deepEqual(copied.changes, { [`${b.files}/app.conf`]: src });
    assert.equal(copied.comment, `Copied "${src}" to "${b.files}/app.conf"`);
    assert.deepEqual(await Deno.readFile(`${b.files}/app.conf`), new Uint8Array([0, 1, 2, 255]));
    assert.equal((await Deno.stat(`${b.files}/app.conf`)).mode! & 0o777, 0o600);
    await Deno.writeTextFile(src, "changed\n");
    const kept = await b.apply("file.copy", `${b.files}/app.conf`, { source: src });
    assert.deepEqual([kept.result, kept.changes], [true, {}], "no force: the target stays");
    await converges(b, "file.copy", `${b.files}/app.conf`, { source: src, force: true });
    assert.equal(await Deno.readTextFile(`${b.files}/app.conf`), "changed\n");

    const moved = await converges(b, "file.rename", `${b.files}/new/app.conf`, {
      source: `${b.files}/app.conf`,
      makedirs: true,
    });
    assert.equal(moved.comment, `Moved "${b.files}/app.conf" to "${b.files}/new/app.conf"`);
    assert.equal(await Deno.readTextFile(`${b.files}/new/app.conf`), "changed\n");
    await refusesArgument(b, "file.copy", `${b.files}/x`, { source: "relative" }, "source");
    await refusesArgument(b, "file.rename", `${b.files}/x`, {}, "source");
    const away = await b.apply("file.copy", `${b.files}/x`, { source: "/etc/hostname" });
    assert.equal(away.result, false);
    assert.match(away.comment, /Denied by policy: read of "\/etc\/hostname" is outside/);
  } finally {
    await b.close();
  }
});

Deno.test("file states - comment, uncomment and keyvalue", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  try {
    const f = `${b.files}/sysctl.conf`;
    await Deno.writeTextFile(f, "net.ipv4.ip_forward=1\n#kernel.panic = 10\nvm.swappiness=60\n");
    const com = await converges(b, "file.comment", f, { regex: "^net.ipv4.ip_forward" });
    assert.equal(com.comment, "Commented lines successfully");
    const again = await b.apply("file.comment", f, { regex: "^net.ipv4.ip_forward" });
    assert.equal(again.comment, "Pattern already commented");
    await converges(b, "file.uncomment", f, { regex: "kernel.panic" });
    assert.equal(
      await Deno.readTextFile(f),
      "#net.ipv4.ip_forward=1\nkernel.panic = 10\nvm.swappiness=60\n",
    );
    const kv = await converges(b, "file.keyvalue", f, {
      key_values: { "vm.swappiness": "10", "kernel.panic": "30", "fs.file-max": "65535" },
      separator: "=",
      append_if_not_found: true,
    });
    assert.equal(kv.comment, "Changed 3 lines");
    assert.equal(
      await Deno.readTextFile(f),
      "#net.ipv4.ip_forward=1\nkernel.panic=30\nvm.swappiness=10\nfs.file-max=65535\n",
    );
    await converges(b, "file.keyvalue", f, {
      key: "net.ipv4.ip_forward",
      value: "0",
      uncomment: "#",
    });
    assert.match(await Deno.readTextFile(f), /^net.ipv4.ip_forward=0\n/);
    const none = await b.apply("file.comment", f, { regex: "^nothing" });
    assert.deepEqual([none.result, none.comment], [false, "nothing: Pattern not found"]);
    await refusesArgument(b, "file.comment", f, {}, "regex");
    await refusesArgument(b, "file.keyvalue", f, { key: "a", value: "b", count: -1 }, "count");
  } finally {
    await b.close();
  }
});

Deno.test("file states - managed with backup: minion keeps the old file where policy says", async () => {
  await using dir = await tempDir();
  const backups = `${dir.path}/backups`;
  const b = await stateBench(dir.path, { backup_dir: backups });
  try {
    const f = `${b.files}/app.conf`;
    await Deno.writeTextFile(f, "old\n");
    const first = await converges(b, "file.managed", f, { content: "new", backup: "minion" });
    assert.match(first.comment, /^File .*app.conf updated \(backup: .*\)$/);
    const kept = [...Deno.readDirSync(`${backups}${await Deno.realPath(b.files)}`)];
    assert.equal(kept.length, 1);
    assert.match(
      kept[0]!.name,
      /^app\.conf_[A-Z][a-z]{2}_[A-Z][a-z]{2}_\d\d_\d\d:\d\d:\d\d_\d{6}_\d{4}$/,
    );
    const copy = `${backups}${await Deno.realPath(b.files)}/${kept[0]!.name}`;
    assert.equal(await Deno.readTextFile(copy), "old\n");
    assert.equal((await Deno.stat(copy)).mode! & 0o777, 0o600);
    await refusesArgument(b, "file.managed", f, { content: "x", backup: "yes" }, "backup");
  } finally {
    await b.close();
  }
  const audit = await b.audit();
  assert.ok(audit.some((a) => a.op === "backup" && a.decision === "allow"));
  await using other = await tempDir();
  const n = await stateBench(other.path);
  try {
    const f = `${n.files}/app.conf`;
    await Deno.writeTextFile(f, "old\n");
    const r = await n.apply("file.managed", f, { content: "new", backup: "minion" });
    assert.deepEqual([r.result, r.comment], [false, "Denied by policy: backups need backup_dir"]);
    assert.deepEqual(Object.values(await snapshot(n.files)), ["644 0:0 old\n"]);
  } finally {
    await n.close();
  }
});

Deno.test("file states - Python inline regex flags are read, not dropped", async () => {
  await using dir = await tempDir();
  const b = await stateBench(dir.path);
  try {
    const f = `${b.files}/conf`;
    await Deno.writeTextFile(f, "Listen 80\n");
    await converges(b, "file.replace", f, { pattern: "(?i)^listen 80$", repl: "Listen 8080" });
    assert.equal(await Deno.readTextFile(f), "Listen 8080\n");
    await refusesArgument(b, "file.replace", f, { pattern: "(?x) a b", repl: "" }, "pattern");
  } finally {
    await b.close();
  }
});
