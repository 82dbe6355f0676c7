/**
 * Git config keys that make git run a program or read other settings (`core.sshCommand`,
 * `core.fsmonitor`, `core.hooksPath`, filters, includes…) are refused by `git.config_set` and
 * `git.config_unset`, in any spelling git accepts, in test mode too, unless `git.config_allow`
 * lists them; a key or value that reads as an option stays data.
 */
import assert from "node:assert/strict";
import { auditRecords, brokerAt, rejectsWith, tempDir } from "../harness/mod.ts";
import { sh } from "../harness/code.ts";
import { stateBench } from "../harness/states.ts";

Deno.test("git config keys - keys that run code are refused unless git.config_allow lists them", async () => {
  await using dir = await tempDir();
  const files = `${dir.path}/files`;
  const c = await brokerAt(dir.path, { git: { targets: [files] } });
  const repo = `${files}/app`;
  await sh(["git", "init", "-q", repo]);
  const config = `${repo}/.git/config`;
  const before = await Deno.readTextFile(config);
  try {
    for (
      const key of [
        "core.sshCommand",
        "Core.FSMonitor",
        "core.hooksPath",
        "core.x.sshcommand",
        "filter.lfs.smudge",
        "include.path",
        "includeIf.gitdir:/srv/.path",
        "protocol.ext.allow",
        "credential.https://example.com.helper",
        "diff.any.textconv",
        "remote.origin.uploadpack",
      ]
    ) {
      await rejectsWith(
        c.request("git.config_set", { repo, key, values: [`touch ${dir.path}/pwned`] }),
        "denied",
        /is not in git\.config_allow/,
      );
      await rejectsWith(c.request("git.config_unset", { repo, key }), "denied");
      await rejectsWith(c.request("git.config_get", { repo, keys: [key] }), "denied");
    }
    for (const key of ["--global", "-f", "user", "a.b=c", "a.1b", "a.b\nc"]) {
      await rejectsWith(
        c.request("git.config_set", { repo, key, values: ["x"] }),
        "bad_request",
        /args\.key/,
      );
    }
    assert.equal(await Deno.readTextFile(config), before, "the config is unchanged");
    await c.request("git.config_set", { repo, key: "user.name", values: ["--file=/etc/passwd"] });
    assert.equal(
      await sh(["git", "config", "--file", config, "user.name"]),
      "--file=/etc/passwd",
    );
  } finally {
    await c.close();
  }
  await assert.rejects(Deno.lstat(`${dir.path}/pwned`), Deno.errors.NotFound);
  assert.ok((await auditRecords(dir.path)).some((r) => r.decision === "deny"));

  await using other = await tempDir();
  const b = await stateBench(other.path, {
    git: { targets: [`${other.path}/files`], config_allow: ["core.hookspath"] },
  });
  const repo2 = `${b.files}/app`;
  await sh(["git", "init", "-q", repo2]);
  try {
    for (const test of [true, false]) {
      const r = await b.apply("git.config_set", "core.sshCommand", {
        value: "ssh -i /root/.ssh/id_rsa",
        repo: repo2,
      }, test);
      assert.equal(r.result, false);
      assert.match(r.comment, /Denied by policy: git config key "core.sshcommand"/);
    }
    const allowed = await b.apply("git.config_set", "core.hooksPath", {
      value: "/srv/hooks",
      repo: repo2,
    });
    assert.equal(allowed.result, true, allowed.comment);
  } finally {
    await b.close();
  }
});
