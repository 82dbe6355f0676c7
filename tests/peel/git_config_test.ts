/**
 * git.config_set|config_unset against a real broker: a repository's config under
 * `git.targets` and a managed user's `~/.gitconfig` in a throwaway root (written as that user).
 * Values converge (test mode predicts each first run and changes nothing), git reads back what
 * was set, bad arguments are named, and each operation has one intent and one outcome.
 */
import assert from "node:assert/strict";
import { tempDir } from "../harness/mod.ts";
import { accountRoot } from "../harness/accounts.ts";
import { sh } from "../harness/code.ts";
import {
  auditPaired,
  converges,
  refusesArgument,
  snapshot,
  stateBench,
} from "../harness/states.ts";

async function bench(dir: string) {
  const root = await accountRoot(dir);
  const b = await stateBench(dir, {
    system_root: root,
    accounts: { users: ["app*"], groups: ["app*"], homes: ["/home"] },
    git: { targets: [`${dir}/files`] },
  });
  return { b, root };
}

const get = (file: string, key: string) =>
  sh(["git", "config", "--file", file, "--get-all", key]).catch(() => "");

Deno.test("git config states - config_set and config_unset in a repository's config", async () => {
  await using dir = await tempDir();
  const { b } = await bench(dir.path);
  try {
    const repo = `${b.files}/app`;
    await sh(["git", "init", "-q", repo]);
    const file = `${repo}/.git/config`;
    const set = await converges(b, "git.config_set", "user.email", {
      value: "a@example.com",
      repo,
    });
    assert.deepEqual(set.changes, { "user.email": { old: null, new: ["a@example.com"] } });
    assert.equal(set.comment, "'user.email' was added as 'a@example.com'");
    assert.equal(await get(file, "user.email"), "a@example.com");
    const changed = await converges(b, "git.config_set", "user.email", {
      value: "b@example.com",
      repo,
    });
    assert.deepEqual(changed.changes, {
      "user.email": { old: ["a@example.com"], new: ["b@example.com"] },
    });
    const again = await b.apply("git.config_set", "User.Email", { value: "b@example.com", repo });
    assert.deepEqual(
      [again.result, again.comment],
      [true, "'User.Email' is already set to 'b@example.com'"],
    );

    const odd = "-c core.pager=x\n--global";
    await converges(b, "git.config_set", "zester.odd", { value: odd, repo });
    assert.equal(await get(file, "zester.odd"), odd);
    const multi = await converges(b, "git.config_set", "remote.origin.fetch", {
      multivar: ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
      repo,
    });
    assert.match(multi.comment, /was added as \['\+refs\/heads.*', '\+refs\/tags.*'\]$/);
    assert.equal(
      await get(file, "remote.origin.fetch"),
      "+refs/heads/*:refs/remotes/origin/*\n+refs/tags/*:refs/tags/*",
    );

    await converges(b, "git.config_set", "color.ui", { value: "auto", repo });
    await converges(b, "git.config_set", "color.diff", { value: "always", repo });
    const greedy = await b.apply("git.config_unset", "remote\\.origin\\..+", { repo });
    assert.equal(greedy.result, false);
    assert.match(greedy.comment, /^Multivar\(s\) matched by the key expression/);
    const colors = await converges(b, "git.config_unset", "color\\..+", { repo });
    assert.deepEqual(colors.changes, { "color.ui": ["auto"], "color.diff": ["always"] });
    assert.equal(colors.comment, "Value(s) successfully unset");
    const one = await converges(b, "git.config_unset", "remote.origin.fetch", {
      value_regex: "tags",
      repo,
    });
    assert.deepEqual(one.changes, { "remote.origin.fetch": ["+refs/tags/*:refs/tags/*"] });
    assert.equal(await get(file, "remote.origin.fetch"), "+refs/heads/*:refs/remotes/origin/*");
    await converges(b, "git.config_unset", "zester.odd", { repo, all: true });
    const none = await b.apply("git.config_unset", "zester.odd", { repo });
    assert.deepEqual([none.result, none.comment], [true, "No matching keys are set"]);

    await refusesArgument(b, "git.config_set", "nokey", { value: "x", repo }, "name");
    await refusesArgument(b, "git.config_set", "a.b", { value: "x" }, "repo");
    await refusesArgument(b, "git.config_set", "a.b", { value: "x", global: true }, "user");
    await refusesArgument(b, "git.config_set", "a.b", { repo }, "value");
    await refusesArgument(
      b,
      "git.config_set",
      "a.b",
      { value: "x", multivar: ["y"], repo },
      "multivar",
    );
    await refusesArgument(b, "git.config_unset", "a.b", { value_regex: "(", repo }, "value_regex");
    const outside = await b.apply("git.config_set", "a.b", { value: "x", repo: dir.path });
    assert.match(outside.comment, /Denied by policy: use \(git.targets\) of /);
  } finally {
    await b.close();
  }
  await auditPaired(b, ["git.config_get", "git.config_set", "git.config_unset"]);
});

Deno.test("git config states - global: True with user changes that user's ~/.gitconfig as the user", async () => {
  await using dir = await tempDir();
  const { b, root } = await bench(dir.path);
  const watched = () => snapshot(root);
  try {
    const args = { user: "app1", global: true };
    const ahead = await b.apply("git.config_set", "user.name", { ...args, value: "A" }, true);
    assert.deepEqual([ahead.result, ahead.comment], [
      null,
      "Global key 'user.name' would be added as 'A'",
    ]);
    await converges(b, "user.present", "app1", { uid: 2001, home: "/home/app1" }, watched);
    const file = `${root}/home/app1/.gitconfig`;
    const set = await converges(b, "git.config_set", "url.https://.insteadOf", {
      ...args,
      value: "git://",
    }, watched);
    assert.equal(set.comment, "Global key 'url.https://.insteadOf' was added as 'git://'");
    assert.equal(await get(file, "url.https://.insteadof"), "git://");
    assert.equal((await Deno.stat(file)).uid, 2001);
    await converges(b, "git.config_set", "push.default", { ...args, value: "simple" }, watched);
    await converges(b, "git.config_unset", "push.default", { ...args, all: true }, watched);
    assert.equal(await get(file, "push.default"), "");
    const outsider = await b.apply("git.config_set", "a.b", {
      value: "x",
      user: "www-data",
      global: true,
    });
    assert.match(outsider.comment, /Denied by policy: user "www-data" is not in accounts.users/);
  } finally {
    await b.close();
  }
  await auditPaired(b, ["git.config_get", "git.config_set", "git.config_unset"]);
});
