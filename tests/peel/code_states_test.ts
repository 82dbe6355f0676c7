/**
 * archive.extracted, git.latest and pip.installed|removed against a real broker, temp dirs, local
 * git repositories and a local wheel directory (no network): each converges (test mode
 * predicts the first run's changes and changes nothing; the second run changes nothing),
 * refuses bad arguments by name, and leaves one intent and one outcome per operation.
 */
import assert from "node:assert/strict";
import { tempDir } from "../harness/mod.ts";
import { auditPaired, converges, refusesArgument, stateBench } from "../harness/states.ts";
import { demoWheel, gitRemote, makeArchive, sh, sha256 } from "../harness/code.ts";

Deno.test("code states - archive.extracted: tree, host and http sources, tar and zip", async () => {
  await using dir = await tempDir();
  const srv = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const file = `${dir.path}/served${new URL(req.url).pathname}`;
    return new Response(await Deno.readFile(file).catch(() => null), {
      status: 200,
    });
  });
  const port = srv.addr.port;
  const b = await stateBench(dir.path, {
    owners: ["nobody", "nogroup"],
    fetch: [`http://127.0.0.1:${port}/ok/*`],
  });
  try {
    const app = [
      { name: "app-1.0/", dir: true as const },
      { name: "app-1.0/bin/run", text: "#!/bin/sh\n", mode: 0o755 },
      { name: "app-1.0/README", text: "hello\n" },
      { name: "app-1.0/doc", symlink: "README" },
    ];
    const tgz = await makeArchive(`${b.tree}/app.tar.gz`, app);
    const opt = `${b.files}/opt`;
    const first = await converges(b, "archive.extracted", opt, {
      source: "salt://app.tar.gz",
      source_hash: await sha256(tgz),
    });
    assert.equal(first.comment, `salt://app.tar.gz extracted to ${opt}`);
    assert.deepEqual(first.changes, {
      directories_created: [opt],
      extracted_files: ["app-1.0", "app-1.0/bin/run", "app-1.0/README", "app-1.0/doc"],
    });
    assert.equal(await Deno.readTextFile(`${opt}/app-1.0/doc`), "hello\n");
    assert.equal((await Deno.stat(`${opt}/app-1.0/bin/run`)).mode! & 0o777, 0o755);
    const again = await b.apply("archive.extracted", opt, { source: "salt://app.tar.gz" });
    assert.equal(again.comment, "All files in archive are already present");

    // A host file, xz, with owners; ownership alone is a change of its own.
    await Deno.mkdir(`${b.files}/src`);
    const txz = await makeArchive(`${b.files}/src/app.tar.xz`, app, "xz");
    const owned = await converges(b, "archive.extracted", `${b.files}/srv`, {
      source: txz,
      user: "nobody",
      group: "nogroup",
      trim_output: 1,
    });
    assert.deepEqual(owned.changes, {
      directories_created: [`${b.files}/srv`],
      "updated ownership": true,
      extracted_files: ["app-1.0"],
    });
    const nobody = (await Deno.lstat(`${b.files}/srv/app-1.0/README`)).uid;
    assert.notEqual(nobody, 0);
    // Changing owners inside a tree another user owns could be redirected by that user.
    await Deno.chown(`${b.files}/srv/app-1.0/README`, 0, 0);
    const reown = await b.apply("archive.extracted", `${b.files}/srv`, {
      source: txz,
      user: "nobody",
      group: "nogroup",
    });
    assert.equal(reown.result, false);
    assert.match(reown.comment, /"[^"]*\/srv\/app-1.0" is owned by uid \d+ or writable by others/);

    // clean removes the archive's top level first; a path of the wrong type needs it.
    await Deno.remove(`${opt}/app-1.0/README`);
    await Deno.mkdir(`${opt}/app-1.0/README`);
    const wrong = await b.apply("archive.extracted", opt, { source: "salt://app.tar.gz" });
    assert.equal(wrong.result, false);
    assert.match(wrong.comment, /exist, but are the incorrect type[\s\S]*- app-1.0\/README/);
    const cleaned = await converges(b, "archive.extracted", opt, {
      source: "salt://app.tar.gz",
      clean: true,
    });
    assert.deepEqual(cleaned.changes.removed, [`${opt}/app-1.0`]);

    // A zip without a single top-level directory: refused unless enforce_toplevel is off.
    await makeArchive(`${b.tree}/flat.zip`, [
      { name: "a.txt", text: "a\n" },
      { name: "d/", dir: true },
      { name: "d/b.txt", text: "b\n" },
    ], "zip");
    const bomb = await b.apply("archive.extracted", `${b.files}/flat`, {
      source: "salt://flat.zip",
    });
    assert.equal(bomb.result, false);
    assert.match(bomb.comment, /^Archive does not have a single top-level directory/);
    const flat = await converges(b, "archive.extracted", `${b.files}/flat`, {
      source: "salt://flat.zip",
      enforce_toplevel: false,
    });
    assert.deepEqual(flat.changes.extracted_files, ["a.txt", "d", "d/b.txt"]);
    assert.equal(await Deno.readTextFile(`${b.files}/flat/d/b.txt`), "b\n");

    const skipped = await b.apply("archive.extracted", `${b.files}/new`, {
      source: "salt://app.tar.gz",
      if_missing: `${b.files}/flat`,
    });
    assert.deepEqual([skipped.result, skipped.comment], [true, `${b.files}/flat exists`]);

    // http(s): only a URL in fetch, only with its hash.
    await Deno.mkdir(`${dir.path}/served/ok`, { recursive: true });
    await Deno.copyFile(tgz, `${dir.path}/served/ok/app.tgz`);
    const url = `http://127.0.0.1:${port}/ok/app.tgz`;
    await converges(b, "archive.extracted", `${b.files}/web`, {
      source: url,
      source_hash: await sha256(tgz),
    });
    const bad = await b.apply("archive.extracted", `${b.files}/web2`, {
      source: url,
      source_hash: "sha256=" + "0".repeat(64),
    });
    assert.match(bad.comment, /does not match source_hash sha256=0+ \(it has [0-9a-f]{64}\)/);
    const elsewhere = await b.apply("archive.extracted", `${b.files}/web3`, {
      source: `http://127.0.0.1:${port}/other/app.tgz`,
      source_hash: await sha256(tgz),
    });
    assert.match(elsewhere.comment, /Denied by policy: URL ".*other\/app.tgz" is not in fetch/);

    const args = { source: "salt://app.tar.gz" };
    await refusesArgument(b, "archive.extracted", opt, { source: "ftp://x/a.tgz" }, "source");
    await refusesArgument(b, "archive.extracted", opt, { source: url }, "source_hash");
    await refusesArgument(
      b,
      "archive.extracted",
      opt,
      { ...args, source_hash: "md5:1" },
      "source_hash",
    );
    await refusesArgument(
      b,
      "archive.extracted",
      opt,
      { ...args, archive_format: "rar" },
      "archive_format",
    );
    await refusesArgument(
      b,
      "archive.extracted",
      opt,
      { ...args, options: "--to-command=sh" },
      "options",
    );
    await refusesArgument(
      b,
      "archive.extracted",
      opt,
      { ...args, trim_output: "lots" },
      "trim_output",
    );
  } finally {
    await b.close();
    await srv.shutdown();
  }
  await auditPaired(b, ["archive.list", "archive.extract", "archive.chown"]);
});

Deno.test("code states - git.latest: clone, update, tags, force_reset, refusals", async () => {
  await using dir = await tempDir();
  const remote = await gitRemote(dir.path);
  const c1 = await remote.commit("a.txt", "one\n");
  await remote.tag("v1");
  const b = await stateBench(dir.path, {
    git: { repos: [`file://${dir.path}/remote.git`], targets: [`${dir.path}/files`] },
  });
  const target = `${b.files}/app`;
  try {
    const clone = await converges(b, "git.latest", remote.url, { target, rev: "main" });
    assert.deepEqual(clone.changes, {
      new: `${remote.url} => ${target}`,
      revision: { old: null, new: c1 },
    });
    assert.equal(clone.comment, `Repository ${remote.url} cloned to ${target}`);
    assert.equal(await Deno.readTextFile(`${target}/a.txt`), "one\n");

    const c2 = await remote.commit("a.txt", "two\n");
    const update = await converges(b, "git.latest", remote.url, { target, rev: "main" });
    assert.deepEqual(update.changes, { revision: { old: c1, new: c2 } });
    assert.equal(await Deno.readTextFile(`${target}/a.txt`), "two\n");

    const back = await b.apply("git.latest", remote.url, { target, rev: "v1" });
    assert.equal(back.result, false);
    assert.match(back.comment, /cannot be fast-forwarded to v1/);
    const reset = await converges(b, "git.latest", remote.url, {
      target,
      rev: "v1",
      force_reset: true,
    });
    assert.deepEqual(reset.changes, { revision: { old: c2, new: c1 } });

    await Deno.writeTextFile(`${target}/a.txt`, "local\n");
    const dirty = await b.apply("git.latest", remote.url, { target, rev: "main" });
    assert.equal(dirty.result, false);
    assert.match(dirty.comment, /has local changes/);
    assert.equal(await Deno.readTextFile(`${target}/a.txt`), "local\n");

    await converges(b, "git.latest", remote.url, {
      target: `${b.files}/shallow`,
      depth: 1,
      rev: "main",
    });
    assert.equal(await sh(["git", "-C", `${b.files}/shallow`, "rev-list", "--count", "HEAD"]), "1");

    const other = await b.apply("git.latest", `file://${dir.path}/other.git`, { target });
    assert.equal(other.result, false);
    assert.match(other.comment, /Denied by policy: URL ".*other.git" is not in git.repos/);
    const outside = await b.apply("git.latest", remote.url, { target: `${dir.path}/elsewhere` });
    assert.match(outside.comment, /Denied by policy: use \(git.targets\) of ".*elsewhere"/);

    await refusesArgument(b, "git.latest", remote.url, { target: "app" }, "target");
    await refusesArgument(b, "git.latest", remote.url, { target, rev: "--upload-pack=x" }, "rev");
    await refusesArgument(b, "git.latest", "ext::sh -c touch% /tmp/x", { target }, "name");
    await refusesArgument(b, "git.latest", remote.url, { target, depth: 0 }, "depth");
  } finally {
    await b.close();
  }
  await auditPaired(b, ["git.info", "git.remote", "git.clone", "git.fetch", "git.checkout"]);
});

Deno.test("code states - pip.installed|removed from a local wheel directory", async () => {
  await using dir = await tempDir();
  const venv = `${dir.path}/venv`;
  await sh(["/usr/bin/python3", "-m", "venv", venv]);
  const wheels = `${dir.path}/wheels`;
  await Deno.mkdir(wheels);
  await demoWheel(wheels, "1.0");
  const b = await stateBench(dir.path, {
    read_paths: [`${dir.path}/files`, wheels],
    pip: { envs: [venv], indexes: [] },
  });
  const site = async () => {
    const out: string[] = [];
    for await (const e of Deno.readDir(`${venv}/lib`)) {
      for await (const f of Deno.readDir(`${venv}/lib/${e.name}/site-packages`)) {
        out.push(f.name);
      }
    }
    return out.sort();
  };
  const local = { bin_env: venv, find_links: [wheels], no_index: true };
  try {
    const first = await converges(b, "pip.installed", "zester-demo==1.0", local, site);
    assert.deepEqual(first.changes, { "zester-demo==1.0": "Installed" });
    assert.ok((await site()).includes("zester_demo"));

    await demoWheel(wheels, "2.0");
    const kept = await b.apply("pip.installed", "zester-demo", local);
    assert.deepEqual([kept.result, kept.changes], [true, {}], "installed satisfies a bare name");
    const up = await converges(b, "pip.installed", "demo", {
      ...local,
      bin_env: `${venv}/bin/pip`,
      pkgs: ["zester-demo"],
      upgrade: true,
    }, site);
    assert.deepEqual(up.changes, { "zester-demo==2.0": "Installed" });

    await Deno.writeTextFile(`${b.tree}/requirements.txt`, "# pinned\nzester-demo==1.0\n");
    const pinned = await converges(b, "pip.installed", "reqs", {
      ...local,
      requirements: "salt://requirements.txt",
    }, site);
    assert.deepEqual(pinned.changes, { "zester-demo==1.0": "Installed" });

    const gone = await converges(b, "pip.removed", "zester-demo", { bin_env: venv }, site);
    assert.deepEqual(gone.changes, { "zester-demo": "Removed" });
    assert.ok(!(await site()).includes("zester_demo"));

    const index = await b.apply("pip.installed", "zester-demo", { bin_env: venv });
    assert.equal(index.result, false);
    assert.match(index.comment, /URL "https:\/\/pypi.org\/simple" is not in pip.indexes/);
    const env = await b.apply("pip.installed", "zester-demo", { ...local, bin_env: dir.path });
    assert.match(env.comment, /not a virtualenv|pip.envs/);

    await Deno.writeTextFile(`${b.tree}/evil.txt`, "--extra-index-url https://evil.example\n");
    await refusesArgument(
      b,
      "pip.installed",
      "x",
      { ...local, pkgs: ["--index-url=evil"] },
      "pkgs",
    );
    await refusesArgument(b, "pip.installed", "x", {
      ...local,
      requirements: "salt://evil.txt",
    }, "requirements");
    await refusesArgument(b, "pip.installed", "x", { ...local, bin_env: "venv" }, "bin_env");
    await refusesArgument(b, "pip.removed", "x>=1", { bin_env: venv }, "name");
  } finally {
    await b.close();
  }
  await auditPaired(b, ["pip.install", "pip.list", "pip.uninstall"]);
});
