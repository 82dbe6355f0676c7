/**
 * Fixtures for the code and archive modules: archives (good and hostile) built by Python's
 * tarfile and zipfile, local git repositories, and wheels of a one-module package.
 * @module
 */
import { createHash } from "node:crypto";

/** Run `argv`, failing with its stderr; its stdout. */
export async function sh(argv: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    cwd,
    env: { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${argv.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim();
}

/** One archive member: a file (text), a directory, a symlink or a hard link. */
export type Entry =
  | { name: string; text: string; mode?: number }
  | { name: string; dir: true }
  | { name: string; symlink: string }
  | { name: string; hardlink: string };

const PY_TAR = `
import io, json, sys, tarfile
entries = json.load(sys.stdin)
with tarfile.open(sys.argv[1], "w:" + sys.argv[2]) as t:
    for e in entries:
        i = tarfile.TarInfo(e["name"])
        data = None
        if "dir" in e: i.type, i.mode = tarfile.DIRTYPE, 0o755
        elif "symlink" in e: i.type, i.linkname = tarfile.SYMTYPE, e["symlink"]
        elif "hardlink" in e: i.type, i.linkname = tarfile.LNKTYPE, e["hardlink"]
        else:
            data = e["text"].encode(); i.size = len(data); i.mode = e.get("mode", 0o644)
        t.addfile(i, io.BytesIO(data) if data is not None else None)
`;

const PY_ZIP = `
import json, stat, sys, zipfile
entries = json.load(sys.stdin)
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for e in entries:
        i = zipfile.ZipInfo(e["name"])
        if "symlink" in e:
            i.external_attr = (stat.S_IFLNK | 0o777) << 16; z.writestr(i, e["symlink"])
        elif "dir" in e:
            i.external_attr = (stat.S_IFDIR | 0o755) << 16; z.writestr(i, "")
        else:
            i.external_attr = (stat.S_IFREG | e.get("mode", 0o644)) << 16; z.writestr(i, e["text"])
`;

/** Write an archive of `entries` to `path`: tar (`gz`, `bz2`, `xz` or none) or zip. */
export async function makeArchive(
  path: string,
  entries: Entry[],
  kind: "tar" | "gz" | "bz2" | "xz" | "zip" = "gz",
): Promise<string> {
  const script = kind === "zip" ? PY_ZIP : PY_TAR;
  const args = ["-c", script, path, ...(kind === "zip" ? [] : [kind === "tar" ? "" : kind])];
  const p = new Deno.Command("/usr/bin/python3", { args, stdin: "piped", stderr: "piped" }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(entries)));
  await w.close();
  const out = await p.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return path;
}

/** The sha256 of a file, as `source_hash` gives it. */
export async function sha256(path: string): Promise<string> {
  return "sha256=" + createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

/** A bare repository at `<dir>/remote.git` and a work tree at `<dir>/work` pushing to it. */
export async function gitRemote(dir: string) {
  const bare = `${dir}/remote.git`;
  const work = `${dir}/work`;
  await sh(["git", "init", "-q", "--bare", "-b", "main", bare]);
  await sh(["git", "init", "-q", "-b", "main", work]);
  await sh(["git", "-C", work, "remote", "add", "origin", `file://${bare}`]);
  const commit = async (file: string, text: string): Promise<string> => {
    await Deno.writeTextFile(`${work}/${file}`, text);
    await sh(["git", "-C", work, "add", "."]);
    await sh([
      "git",
      "-C",
      work,
      "-c",
      "user.name=t",
      "-c",
      "user.email=t@t",
      "commit",
      "-q",
      "-m",
      file,
    ]);
    await sh(["git", "-C", work, "push", "-q", "origin", "main"]);
    return await sh(["git", "-C", work, "rev-parse", "HEAD"]);
  };
  const tag = async (name: string) => {
    await sh(["git", "-C", work, "tag", name]);
    await sh(["git", "-C", work, "push", "-q", "origin", name]);
  };
  return { url: `file://${bare}`, commit, tag };
}

/** Write a wheel of package `zester-demo` at `version` into `dir`; returns its path. */
export async function demoWheel(dir: string, version: string): Promise<string> {
  const build = await Deno.makeTempDir({ dir });
  const info = `zester_demo-${version}.dist-info`;
  await Deno.mkdir(`${build}/zester_demo`);
  await Deno.mkdir(`${build}/${info}`);
  await Deno.writeTextFile(`${build}/zester_demo/__init__.py`, `VERSION = "${version}"\n`);
  await Deno.writeTextFile(
    `${build}/${info}/METADATA`,
    `Metadata-Version: 2.1\nName: zester-demo\nVersion: ${version}\n`,
  );
  await Deno.writeTextFile(
    `${build}/${info}/WHEEL`,
    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
  );
  await Deno.writeTextFile(
    `${build}/${info}/RECORD`,
    `zester_demo/__init__.py,,\n${info}/METADATA,,\n${info}/WHEEL,,\n${info}/RECORD,,\n`,
  );
  const wheel = `${dir}/zester_demo-${version}-py3-none-any.whl`;
  await sh(["/usr/bin/python3", "-m", "zipfile", "-c", wheel, "zester_demo", info], build);
  await Deno.remove(build, { recursive: true });
  return wheel;
}
