/** `file.managed`'s unified diff against GNU `diff -u`, on the shapes that went wrong before. */
import assert from "node:assert/strict";
import { unifiedDiff } from "../../peel/modules/mod.ts";
import { tempDir } from "../harness/mod.ts";

/** What GNU `diff -u` prints for `a` → `b`, labelled old and new, without the final newline. */
async function gnu(dir: string, a: string, b: string, minimal = false): Promise<string> {
  await Deno.writeTextFile(`${dir}/a`, a);
  await Deno.writeTextFile(`${dir}/b`, b);
  const out = await new Deno.Command("diff", {
    args: ["-u", ...(minimal ? ["--minimal"] : []), "--label", "old", "--label", "new", "a", "b"],
    cwd: dir,
  }).output();
  assert.ok(out.code <= 1, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).replace(/\n$/, "");
}

const lines = (n: number, f: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => `${f(i)}\n`).join("");

Deno.test("diff - the same text as GNU diff -u", async (t) => {
  await using dir = await tempDir();
  const base = lines(30, (i) => `line ${i + 1}`);
  const cases: Record<string, [string, string]> = {
    "empty old file": ["", "a\nb\nc\n"],
    "empty new file": ["a\nb\nc\n", ""],
    "one line changed": ["a\n", "b\n"],
    "no newline at the end of the old file": ["a\nb", "a\nb\n"],
    "no newline at the end of the new file": ["a\nb\n", "a\nc"],
    "no newline at the end of either, last line unchanged": ["x\ny\nz", "w\ny\nz"],
    "insertion at the start": [base, `new\n${base}`],
    "deletion at the end": [base, base.split("\n").slice(0, 27).join("\n") + "\n"],
    "two hunks": [base, base.replace("line 3\n", "three\n").replace("line 25\n", "")],
    "changes 6 lines apart share a hunk": [
      base,
      base.replace("line 5\n", "five\n").replace("line 12\n", "twelve\n"),
    ],
    "changes 7 lines apart do not": [
      base,
      base.replace("line 5\n", "five\n").replace("line 13\n", "thirteen\n"),
    ],
    "a whole rewrite": [lines(50, (i) => `old ${i}`), lines(40, (i) => `new ${i}`)],
  };
  for (const [name, [a, b]] of Object.entries(cases)) {
    await t.step(name, async () => {
      assert.equal(unifiedDiff(a, b), await gnu(dir.path, a, b));
    });
  }
  assert.equal(unifiedDiff(base, base), "");
});

/** Apply `diff` to `a` with `patch`: what it gives. */
async function patched(dir: string, a: string, diff: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/a`, a);
  await Deno.writeTextFile(`${dir}/d`, `${diff}\n`);
  const out = await new Deno.Command("patch", {
    args: ["-s", "-o", "out", "a", "d"],
    cwd: dir,
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stdout));
  return await Deno.readTextFile(`${dir}/out`);
}

const changed = (d: string) => d.split("\n").slice(2).filter((l) => /^[-+]/.test(l)).length;

Deno.test("diff - shuffled files: patch applies it, as short as GNU diff --minimal", async () => {
  await using dir = await tempDir();
  let seed = 7;
  const random = (n: number) => (seed = (seed * 48271) % 2_147_483_647) % n;
  for (let round = 0; round < 40; round++) {
    const a = lines(5 + random(40), () => `v${random(8)}`);
    const b = lines(5 + random(40), () => `v${random(8)}`);
    const d = unifiedDiff(a, b);
    assert.equal(await patched(dir.path, a, d), b);
    assert.equal(changed(d), changed(await gnu(dir.path, a, b, true)), `${a}\n---\n${b}`);
  }
});

Deno.test("diff - large files are fast: 20,000 lines, 4,000 all different, 4,000 shuffled", async () => {
  await using dir = await tempDir();
  const time = (a: string, b: string) => {
    const t0 = performance.now();
    const d = unifiedDiff(a, b);
    const ms = performance.now() - t0;
    assert.ok(ms < 1_000, `took ${Math.round(ms)} ms`);
    return d;
  };
  const big = lines(20_000, (i) => `line ${i}`);
  const edited = lines(20_000, (i) => i % 2_000 === 7 ? `changed ${i}` : `line ${i}`);
  assert.equal(time(big, edited).split("\n").filter((l) => l.startsWith("@@")).length, 10);
  const all = time(lines(4_000, (i) => `a ${i}`), lines(4_000, (i) => `b ${i}`));
  assert.ok(all.startsWith("--- old\n+++ new\n@@ -1,4000 +1,4000 @@\n-a 0\n"));
  // Lines both files have, shuffled: past the search bound the diff is longer, still right.
  const a = lines(4_000, (i) => `x ${i % 50}`);
  const b = lines(4_000, (i) => `x ${(i * 7919) % 4_000 % 50}`);
  assert.equal(await patched(dir.path, a, time(a, b)), b);
});
