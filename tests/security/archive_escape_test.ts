/**
 * Archive escapes: members that would land outside the target (`../`, absolute paths, links out
 * and members through them, hard links to host files, a link already on disk) and setuid
 * members are refused by a real broker before anything is written, for tar and zip alike.
 */
import assert from "node:assert/strict";
import { brokerAt, rejectsWith, tempDir } from "../harness/mod.ts";
import { type Entry, makeArchive } from "../harness/code.ts";
import { snapshot } from "../harness/states.ts";

Deno.test("archive escape - hostile members are refused and nothing is written anywhere", async () => {
  await using dir = await tempDir();
  const c = await brokerAt(dir.path);
  const dest = `${dir.path}/files/dest`;
  await Deno.mkdir(dest);
  await Deno.mkdir(`${dir.path}/files/outside`);
  await Deno.symlink(`${dir.path}/files/outside`, `${dest}/planted`);
  const attacks: [string, Entry[], "gz" | "zip", RegExp][] = [
    ["dot-dot", [{ name: "../outside/evil", text: "x" }], "gz", /contains "\.\."/],
    ["absolute", [{ name: `${dir.path}/files/outside/evil`, text: "x" }], "gz", /absolute path/],
    [
      "link out, then through it",
      [
        { name: "out", symlink: "../outside" },
        { name: "out/evil", text: "x" },
      ],
      "gz",
      /points to "\.\.\/outside", outside the target/,
    ],
    ["absolute link", [{ name: "etc", symlink: "/etc" }], "gz", /outside the target/],
    [
      "through a link of the archive",
      [
        { name: "in", symlink: "." },
        { name: "in/evil", text: "x" },
      ],
      "gz",
      /lies under a symbolic link of the archive/,
    ],
    [
      "hard link to a host file",
      [{ name: "shadow", hardlink: "/etc/shadow" }],
      "gz",
      /absolute|not to an earlier file/,
    ],
    [
      "through a link on disk",
      [{ name: "planted/evil", text: "x" }],
      "gz",
      /"[^"]*planted" is a symbolic link/,
    ],
    ["setuid", [{ name: "run", text: "x", mode: 0o4755 }], "gz", /setuid or setgid/],
    ["zip dot-dot", [{ name: "../outside/evil", text: "x" }], "zip", /contains "\.\."/],
    [
      "zip link",
      [{ name: "l", symlink: "/etc" }, { name: "l/evil", text: "x" }],
      "zip",
      /symbolic link/,
    ],
  ];
  try {
    const before = await snapshot(dir.path + "/files");
    for (const [what, entries, kind, re] of attacks) {
      const file = await makeArchive(`${dir.path}/a.${kind}`, entries, kind);
      const data = await Deno.readFile(file);
      const format = kind === "zip" ? "zip" : "tar";
      // A link already on disk matters only to extraction; the archive itself lists fine.
      const onDisk = what === "through a link on disk";
      for (const op of onDisk ? ["archive.extract"] : ["archive.list", "archive.extract"]) {
        await assert.rejects(
          c.request(op, { data, format, dest }),
          (e) => (assert.match(String(e), re, `${what} (${op})`), true),
        );
      }
      await rejectsWith(c.request("archive.extract", { data, format, dest }), "denied");
    }
    assert.deepEqual(await snapshot(dir.path + "/files"), before, "nothing was written");
  } finally {
    await c.close();
  }
});
