/**
 * `docs/runbook.md` works against this build: every `sh runnable` block runs in bash against a
 * live fleet (nats-server in operator mode with mutual TLS and monitoring, a master with
 * enrollment, two peels up, one stopped, one waiting to enroll), with `zester` on PATH, and shows
 * what the runbook says beside it; every other shell block says why it cannot run here; the log
 * messages it names are the ones the daemons log, at the level it gives.
 */
import assert from "node:assert/strict";
import { V8_FLAGS } from "../../lib/config/mod.ts";
import {
  client,
  closeClient,
  DENO_CONFIG,
  devEnrollment,
  freePort,
  healthUrl,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
  writeCliConfig,
} from "../harness/mod.ts";

const ROOT = new URL("../../", import.meta.url);
const RUNBOOK = new URL("docs/runbook.md", ROOT);
const CLI = new URL("cli/main.ts", ROOT).pathname;

/** One command of a runnable block, with what the runbook says it shows. */
interface RunbookCommand {
  line: number;
  command: string;
  expect: string[];
  exit: number;
}

/** A shell block: its line, its tag, and its commands when it is runnable. */
interface ShellBlock {
  line: number;
  tag: string;
  commands: RunbookCommand[];
}

function shellBlocks(text: string): ShellBlock[] {
  const blocks: ShellBlock[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(sh|bash|shell)\b ?(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const block: ShellBlock = { line: i + 1, tag: open[2]!.trim(), commands: [] };
    for (i++; i < lines.length && lines[i] !== "```"; i++) {
      const l = lines[i]!;
      const last = block.commands.at(-1);
      const expect = /^# expect: (.+)$/.exec(l);
      const exit = /^# exit: (\d+)$/.exec(l);
      if (expect) last?.expect.push(expect[1]!);
      else if (exit && last) last.exit = Number(exit[1]);
      else if (l.trim() && !l.startsWith("#")) {
        block.commands.push({ line: i + 1, command: l, expect: [], exit: 0 });
      }
    }
    blocks.push(block);
  }
  return blocks;
}

/** The `Message` column of the runbook's "Log messages" table, with its `Level`. */
function logMessages(text: string): { msg: string; level: string }[] {
  const section = text.split(/^## /m).find((s) => s.startsWith("Log messages\n")) ?? "";
  return [...section.matchAll(/^\| `([^`]+)` +\| (debug|info|warn|error) /gm)]
    .map((m) => ({ msg: m[1]!, level: m[2]! }));
}

async function sourcesOf(dirs: string[]): Promise<string> {
  const parts: string[] = [];
  const walk = async (dir: URL) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith(".ts")) parts.push(await Deno.readTextFile(new URL(e.name, dir)));
    }
  };
  for (const d of dirs) await walk(new URL(`${d}/`, ROOT));
  return parts.join("\n");
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

async function bash(
  command: string,
  path: string,
): Promise<{ code: number; out: string }> {
  const res = await new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", command],
    env: { PATH: path, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: res.code, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
}

Deno.test("runbook - every shell block is marked runnable, or not-runnable with the reason", async () => {
  const blocks = shellBlocks(await Deno.readTextFile(RUNBOOK));
  assert.ok(blocks.filter((b) => b.tag === "runnable").length >= 10, "too few runnable blocks");
  for (const b of blocks) {
    assert.match(b.tag, /^(runnable|not-runnable: \S.*)$/, `runbook.md:${b.line}: tag "${b.tag}"`);
    for (const c of b.tag === "runnable" ? b.commands : []) {
      assert.ok(c.expect.length > 0, `runbook.md:${c.line}: no "# expect:" for ${c.command}`);
      for (const e of c.expect) new RegExp(e, "m");
    }
  }
});

Deno.test("runbook - its links point at its headings", async () => {
  const text = await Deno.readTextFile(RUNBOOK);
  const slugs = new Set(
    [...text.matchAll(/^#+ (.+)$/gm)].map((m) =>
      m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, "").replaceAll(" ", "-")
    ),
  );
  for (const [, anchor] of text.matchAll(/\]\(#([^)]+)\)/g)) {
    assert.ok(slugs.has(anchor!), `no heading for #${anchor}`);
  }
});

Deno.test("runbook - the log messages it names are logged by the daemons at its level", async () => {
  const messages = logMessages(await Deno.readTextFile(RUNBOOK));
  assert.ok(messages.length >= 10, `only ${messages.length} log messages parsed`);
  const src = await sourcesOf(["lib", "master", "peel"]);
  for (const { msg, level } of messages) {
    const prefix = msg.replace(/ ?…$/, "");
    const literals = msg.endsWith("…") ? [`\`${prefix}`, `"${prefix}`] : [`"${msg}"`];
    const levels = literals.flatMap((lit) =>
      [...src.matchAll(new RegExp(RegExp.escape(lit), "g"))].map((m) => {
        const before = src.slice(Math.max(0, m.index - 120), m.index);
        return [...before.matchAll(/\.(debug|info|warn|error)\(/g)].at(-1)?.[1];
      })
    );
    assert.ok(
      levels.includes(level),
      `"${msg}": logged at ${JSON.stringify(levels)}, not ${level}`,
    );
  }
});

Deno.test("runbook - every runnable command works against a live fleet and shows what it says", async (t) => {
  for (const tool of ["bash", "curl", "jq"]) {
    const found = await bash(`command -v ${tool}`, Deno.env.get("PATH") ?? "");
    assert.equal(found.code, 0, `The runbook test needs ${tool}: install it`);
  }
  const commands = shellBlocks(await Deno.readTextFile(RUNBOOK))
    .filter((b) => b.tag === "runnable")
    .flatMap((b) => b.commands);
  const monitor = freePort();
  await using ns = await startNatsServer({ args: ["-m", String(monitor)] });
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/m/states`, { recursive: true });
  await Deno.writeTextFile(`${d}/m/states/hello.zy`, "hello:\n  test.succeed_with_changes: []\n");
  const enrollPort = freePort();
  await using master = await startMaster(`${d}/m`, ns.url, {
    enroll: await devEnrollment(enrollPort),
  });
  await using web1 = await startPeel(`${d}/peels`, ns.url, "web-01");
  await using _web2 = await startPeel(`${d}/peels`, ns.url, "web-02");
  await using web3 = await startPeel(`${d}/peels`, ns.url, "web-03");
  const nc = await client(ns.url);
  try {
    await waitForPeels(nc, ["web-01", "web-02", "web-03"]);
  } finally {
    await closeClient(nc);
  }
  await web3.stop();
  await using db = await startPeel(`${d}/peels`, ns.url, "db-01", {
    enroll: `https://127.0.0.1:${enrollPort}`,
    ready: false,
  });
  await db.waitFor(/"waiting for an operator to accept this peel"/);

  const flags = await writeCliConfig(`${d}/cli.yaml`, ns.url);
  await Deno.mkdir(`${d}/bin`);
  await Deno.writeTextFile(
    `${d}/bin/zester`,
    `#!/bin/sh\nexec ${
      [Deno.execPath(), "run", "--config", DENO_CONFIG, V8_FLAGS, ...flags, CLI, "--config"]
        .map(quote).join(" ")
    } ${quote(`${d}/cli.yaml`)} "$@"\n`,
    { mode: 0o755 },
  );
  const path = `${d}/bin:${Deno.env.get("PATH") ?? ""}`;
  const sh = async (command: string, code = 0) => {
    const r = await bash(command, path);
    assert.equal(r.code, code, `${command}:\n${r.out}`);
    return r.out;
  };
  const jidOf = (out: string) => /job ID: (\S+)/.exec(out)?.[1] ?? assert.fail(out);
  await sh("zester web-02 cmd.run 'exit 3'", 1);
  const applyJid = jidOf(await sh("zester -L web-01,web-02 state.apply hello --async"));
  await sh(`zester job wait ${applyJid}`);
  const sleepJid = jidOf(await sh("zester web-02 test.sleep 3 --job-timeout 1s --async"));
  await sh(`zester job wait ${sleepJid}`, 1);
  const runningJid = jidOf(await sh("zester web-01 cmd.run 'sleep 60' --async"));

  const places: [string, string][] = [
    ["127.0.0.1:9091", new URL(await healthUrl(master)).host],
    ["127.0.0.1:9090", new URL(await healthUrl(web1)).host],
    ["127.0.0.1:8222", `127.0.0.1:${monitor}`],
    ["<apply-jid>", applyJid],
    ["<jid>", sleepJid],
    ["<running-jid>", runningJid],
  ];
  const place = (text: string) => places.reduce((s, [from, to]) => s.replaceAll(from, to), text);
  for (const c of commands) {
    const command = place(c.command);
    await t.step(`runbook.md:${c.line}: ${c.command}`, async () => {
      const r = await bash(command, path);
      assert.equal(r.code, c.exit, `exit status of ${command}:\n${r.out}`);
      for (const e of c.expect) {
        assert.match(r.out, new RegExp(place(e), "m"), `${command}:\n${r.out}`);
      }
    });
  }
});
