/**
 * Check-then-use races on file operations: a path is checked, then something swaps one of its
 * directories for a symlink out before the broker uses it. The peel cannot do it with its own
 * requests (they take turns, and a symlink must point at a writable path), and a local user who
 * owns a directory gets its writes refused, or, under `user_dirs`, done as that user, so the
 * swap never carries a write outside `write_paths`.
 */
import assert from "node:assert/strict";
import type { BrokerClient } from "../../peel/broker/mod.ts";
import { auditRecords, brokerAt, rejectsWith, tempDir } from "../harness/mod.ts";

const ITERATIONS = 1000;
const WWW = 33;

/** Send `n` writes of `${dir}/f-<i>`, `batch` at a time; how many succeeded and the errors. */
async function writes(c: BrokerClient, dir: string, n: number, batch = 10) {
  let ok = 0;
  const errors: string[] = [];
  for (let i = 0; i < n; i += batch) {
    const rs = await Promise.allSettled(
      Array.from(
        { length: Math.min(batch, n - i) },
        (_, k) => c.request("write", { path: `${dir}/f-${i + k}`, data: "x" }),
      ),
    );
    for (const r of rs) {
      if (r.status === "fulfilled") ok++;
      else errors.push(`${(r.reason as { code: string }).code}: ${(r.reason as Error).message}`);
    }
  }
  return { ok, errors };
}

/**
 * A process running as www-data that keeps swapping `<dir>/d` for a symlink to `outside` and
 * back; `stop()` ends it, with `d` back in place, and says how many swaps it made.
 */
function racer(dir: string, outside: string) {
  const script = `$SIG{TERM} = sub { $stop = 1 }; chdir $ARGV[0] or die;
    while (!$stop) {
      rename("d", "d.swap"); symlink($ARGV[1], "d"); unlink("d"); rename("d.swap", "d"); $n++;
      select(undef, undef, undef, 0.0002);
    }
    print "$n\n"`;
  const child = new Deno.Command("/usr/bin/setpriv", {
    args: [`--reuid=${WWW}`, `--regid=${WWW}`, "--clear-groups", "--", "/usr/bin/perl", "-e"]
      .concat(script, dir, outside),
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let stopped: Promise<number> | undefined;
  return {
    stop: () =>
      stopped ??= (async () => {
        child.kill("SIGTERM");
        const out = await child.output();
        return Number(new TextDecoder().decode(out.stdout).trim());
      })(),
  };
}

async function layout(base: string) {
  await Deno.chmod(base, 0o755); // www-data must reach its directory.
  const www = `${base}/files/www`;
  await Deno.mkdir(`${www}/d`, { recursive: true });
  await Deno.mkdir(`${base}/outside`);
  await Deno.chown(www, WWW, WWW);
  await Deno.chown(`${www}/d`, WWW, WWW);
  return { www, outside: `${base}/outside` };
}

function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name);
}

Deno.test("file race - a user swapping its directory for a symlink out gets no write anywhere", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const { www, outside } = await layout(base);
  const c = await brokerAt(base);
  const race = racer(www, outside);
  try {
    const { ok, errors } = await writes(c, `${www}/d`, ITERATIONS);
    const swaps = await race.stop();
    assert.ok(swaps > 100, `the racer swapped ${swaps} times`);
    assert.deepEqual(entries(outside), [], "nothing was written outside");
    assert.equal(ok, 0, "no write is done as root where www-data can swap directories");
    for (const e of errors) {
      assert.match(e, /^denied: .*(owned by uid 33|outside the allowed paths)|No such file/, e);
    }
    assert.ok(errors.some((e) => /"[^"]*\/files\/www" is owned by uid 33/.test(e)), errors[0]);
  } finally {
    await race.stop();
    await c.close();
  }
});

Deno.test("file race - under user_dirs writes are done as the owner and never land outside", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const { www, outside } = await layout(base);
  const c = await brokerAt(base, { user_dirs: [www] });
  const race = racer(www, outside);
  try {
    const { ok, errors } = await writes(c, `${www}/d`, ITERATIONS);
    const swaps = await race.stop();
    assert.ok(swaps > 100, `the racer swapped ${swaps} times`);
    assert.deepEqual(entries(outside), [], "nothing was written outside");
    assert.ok(ok > 0, `some writes got through: ${errors.slice(0, 3).join("; ")}`);
    const written = entries(`${www}/d`).filter((n) => n.startsWith("f-"));
    assert.equal(written.length, ok);
    for (const n of written) assert.equal(Deno.statSync(`${www}/d/${n}`).uid, WWW);
    const intents = (await auditRecords(base)).filter((r) => r.phase === "intent");
    assert.ok(intents.length >= ok);
    for (const r of intents) {
      const resolved = r.resolved as { path: string; as_user: string };
      assert.equal(resolved.path, (r.args as { path: string }).path, "the path written is audited");
      assert.equal(resolved.as_user, "www-data");
    }
  } finally {
    await race.stop();
    await c.close();
  }
});

Deno.test("file race - the peel's own renames and symlinks cannot redirect its writes", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const d = `${base}/files/d`;
  await Deno.mkdir(d, { recursive: true });
  await Deno.mkdir(`${base}/outside`);
  const c = await brokerAt(base);
  try {
    const swaps = (async () => {
      const results: string[] = [];
      for (let i = 0; i < ITERATIONS / 10; i++) {
        for (
          const [op, args] of [
            ["rename", { from: d, to: `${d}.swap` }],
            ["symlink", { path: d, target: `${base}/outside` }],
            ["remove", { path: d }],
            ["rename", { from: `${d}.swap`, to: d }],
          ] as const
        ) {
          await c.request(op, args).then(
            () => results.push(`${op}: ok`),
            (e) => results.push(`${op}: ${e.message}`),
          );
        }
      }
      return results;
    })();
    const { ok } = await writes(c, d, ITERATIONS);
    const results = await swaps;
    assert.deepEqual(entries(`${base}/outside`), [], "nothing was written outside");
    assert.ok(ok > 0);
    assert.ok(
      results.filter((r) => r.startsWith("symlink")).every((r) =>
        /outside the allowed paths/.test(r)
      ),
      "a symlink to a path the peel may not write is refused",
    );
    const intents = (await auditRecords(base)).filter((r) =>
      r.phase === "intent" && r.op === "write"
    );
    assert.equal(intents.length, ITERATIONS);
    for (const r of intents) {
      assert.match((r.resolved as { path: string }).path, new RegExp(`^${d}/f-\\d+$`));
    }
  } finally {
    await c.close();
  }
});

Deno.test("file race - under user_dirs every file operation acts as the directory's owner", async () => {
  await using dir = await tempDir();
  const base = dir.path;
  const { www } = await layout(base);
  const c = await brokerAt(base, { user_dirs: [www], owners: ["www-data"] });
  const d = `${www}/d`;
  try {
    await c.request("write", { path: `${d}/sub/page`, data: "hi", mode: 0o640, makedirs: true });
    await c.request("mkdir", { path: `${d}/assets`, mode: 0o750 });
    await c.request("symlink", { path: `${d}/link`, target: "sub/page" });
    await c.request("rename", { from: `${d}/sub/page`, to: `${d}/index` });
    await c.request("chmod", { path: `${d}/index`, mode: 0o600 });
    await c.request("chown", { path: `${d}/index`, group: "www-data" });
    const read = await c.request("read", { path: `${d}/index` }) as { data: Uint8Array };
    assert.equal(new TextDecoder().decode(read.data), "hi");
    for (const p of ["sub", "assets", "link", "index"]) {
      assert.equal(Deno.lstatSync(`${d}/${p}`).uid, WWW, p);
    }
    assert.equal(Deno.statSync(`${d}/index`).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(`${d}/assets`).mode! & 0o777, 0o750);
    await rejectsWith(
      c.request("write", { path: `${d}/x`, data: "x", user: "root" }),
      "denied",
      /files belong to "www-data"/,
    );
    await c.request("remove", { path: `${d}/sub`, recursive: true });
    assert.deepEqual(entries(d).sort(), ["assets", "index", "link"]);
    const intents = (await auditRecords(base)).filter((r) => r.phase === "intent");
    assert.ok(intents.every((r) => (r.resolved as { as_user: string }).as_user === "www-data"));
  } finally {
    await c.close();
  }
});
