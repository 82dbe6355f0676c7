/**
 * Attack: reading a settings secret anywhere but on the peel it is for, on a real fleet. The
 * operator seals a value with `zester settings encrypt`, puts it in a settings file, and the
 * master publishes the tree: web-01, whose top file assigns the file, writes the value into a
 * file through a state; web-02, whose top file does not, gets nothing. Then every stream
 * message, every log line of master and peels, every file of each peel's data dir and the
 * broker's audit logs are scanned for the plaintext; a state that puts the secret into its name
 * is refused; a re-sealed value reaches the next apply; and with `settings-files` gone the peel
 * applies from its sealed last-known-good copy and says so. Before this layer a master refused
 * to publish a file with a secret, and no peel could receive one.
 */
import assert from "node:assert/strict";
import type { NatsConnection } from "nats";
import { stringify } from "yaml";
import { BUCKETS, openBucket } from "../../lib/bus/mod.ts";
import {
  createBoxKey,
  openPeelSecrets,
  readBoxKeyFile,
  writeBoxKeyFile,
} from "../../lib/secrets/mod.ts";
import {
  client,
  closeClient,
  type Daemon,
  devEnrollment,
  freePort,
  runZester,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  until,
  waitForPeels,
  writeCliConfig,
} from "../harness/mod.ts";

const utf8 = new TextEncoder();
const PEELS = ["web-01", "web-02"] as const;

/** Where `needle`'s bytes are in `haystack`, or -1. */
function find(haystack: Uint8Array, needle: string): number {
  const n = utf8.encode(needle);
  outer: for (let i = 0; i + n.length <= haystack.length; i++) {
    for (let j = 0; j < n.length; j++) if (haystack[i + j] !== n[j]) continue outer;
    return i;
  }
  return -1;
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await filesUnder(p));
    else if (e.isFile) out.push(p);
  }
  return out;
}

/** Fail if any stored message of any stream holds one of `secrets`; the number scanned. */
async function scanStreams(nc: NatsConnection, secrets: string[]): Promise<number> {
  const jsm = await nc.jetstreamManager();
  let scanned = 0;
  for await (const si of jsm.streams.list()) {
    const { first_seq, last_seq } = si.state;
    for (let seq = first_seq; seq <= last_seq && last_seq > 0; seq++) {
      const m = await jsm.streams.getMessage(si.config.name, { seq }).catch(() => undefined);
      if (!m) continue;
      scanned++;
      for (const secret of secrets) {
        assert.equal(find(m.data, secret), -1, `${si.config.name} #${seq} (${m.subject})`);
        assert.equal(find(utf8.encode(m.subject), secret), -1, `${si.config.name} #${seq}`);
      }
    }
  }
  return scanned;
}

Deno.test("secrets fleet - sealed for the peel whose top file assigns it; no plaintext in streams, logs or data dirs", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const d = dir.path;
  const settingsDir = `${d}/master/settings`;
  await Deno.mkdir(`${d}/master/states`, { recursive: true });
  await Deno.mkdir(settingsDir, { recursive: true });
  await writeBoxKeyFile(`${d}/master-box.key`, createBoxKey());
  await Deno.writeTextFile(
    `${settingsDir}/top.zy`,
    "base:\n  '*':\n    - common\n  'web-01':\n    - db\n",
  );
  await Deno.writeTextFile(`${settingsDir}/common.zy`, "app:\n  name: shop\n");
  await Deno.writeTextFile(
    `${d}/master/states/secret.zy`,
    `db.conf:
  file.managed:
    - name: {{ grains['files_dir'] }}/db.conf
    - contents: "password={{ pillar['db']['password'] }}"
`,
  );
  await Deno.writeTextFile(
    `${d}/master/states/leak.zy`,
    "echo {{ pillar['db']['password'] }}:\n  cmd.run: []\n",
  );
  const port = freePort();
  const master = await startMaster(`${d}/master`, ns.url, {
    box_key_file: `${d}/master-box.key`,
    enroll: await devEnrollment(port, { policy: "auto-all" }),
  });
  const peels = new Map<string, Daemon>();
  const nc = await client(ns.url);
  const cfg = `${d}/cli.yaml`;
  const flags = await writeCliConfig(cfg, ns.url);
  const zester = (...args: string[]) => runZester(flags, ["--config", cfg, ...args]);
  const json = async (...args: string[]) => {
    const r = await zester(...args, "--format", "json", "--static");
    return { ...r, out: r.stdout ? JSON.parse(r.stdout) : undefined };
  };
  const plain = ["PLAINTEXT-db-5e81c2", "PLAINTEXT-db-rotated-93ad07"];
  const encrypt = async (value: string) => {
    const r = await runZester(flags, ["--config", cfg, "settings", "encrypt"], value);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const filesDir = (id: string) => `${d}/peels/${id}/files`;
  const secretsKv = await openBucket(nc, BUCKETS.secrets);
  const opened = async (id: string) => {
    const e = await secretsKv.get(id);
    if (e?.operation !== "PUT") return undefined;
    return await openPeelSecrets(e.value, await readBoxKeyFile(`${d}/peels/${id}/data/box.key`));
  };
  try {
    for (const id of PEELS) {
      await Deno.mkdir(filesDir(id), { recursive: true });
      await Deno.writeTextFile(
        `${d}/peels/${id}/facts.yaml`,
        stringify({ files_dir: filesDir(id) }),
      );
      peels.set(
        id,
        await startPeel(`${d}/peels`, ns.url, id, { enroll: `https://127.0.0.1:${port}` }),
      );
    }
    await waitForPeels(nc, [...PEELS]);

    await t.step("sealed for web-01 alone: web-02's key opens nothing of it", async () => {
      await Deno.writeTextFile(
        `${settingsDir}/db.zy`,
        `db:\n  password: ${await encrypt(plain[0]!)}\n`,
      );
      await until(
        "web-01's record",
        async () => (await opened("web-01"))?.["db.zy:db.password"] === plain[0],
      );
      assert.deepEqual(await opened("web-02") ?? {}, {}, "web-02's top file does not assign db");
      const record01 = (await secretsKv.get("web-01"))!.value;
      const key02 = await readBoxKeyFile(`${d}/peels/web-02/data/box.key`);
      await assert.rejects(openPeelSecrets(record01, key02), /not sealed for this peel's key/);
      const published = await (await openBucket(nc, BUCKETS.settingsFiles)).get("db.zy");
      assert.equal(
        new TextDecoder().decode(published!.value),
        'db:\n  password: "__ZESTER_SECRET:db.zy:db.password__"\n',
      );
    });

    await t.step(
      "web-01 writes the secret through a state; returns and settings show say <sealed>",
      async () => {
        await until(
          "web-01 to open its record",
          async () =>
            (await json("web-01", "pillar.get", "db:password")).out["web-01"].result === "<sealed>",
        );
        await Deno.writeTextFile(`${filesDir("web-01")}/db.conf`, "old\n");
        const r = await json("web-01", "state.apply", "secret");
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.equal(
          await Deno.readTextFile(`${filesDir("web-01")}/db.conf`),
          `password=${plain[0]}\n`,
        );
        assert.ok(!r.stdout.includes(plain[0]!), r.stdout);
        assert.match(r.stdout, /<sealed>/, "the diff shows the secret redacted");
        const shown = await json("settings", "show", "web-01");
        assert.equal(shown.out["web-01"].result.db.password, "<sealed>");
        const two = await json("web-02", "pillar.get", "db:password", "absent");
        assert.equal(two.out["web-02"].result, "absent");
        await zester("web-02", "state.apply", "secret");
        const written = await Deno.readTextFile(`${filesDir("web-02")}/db.conf`).catch(() => "");
        assert.ok(!written.includes(plain[0]!), written);
      },
    );

    await t.step("a state with the secret in its name is refused, naming why", async () => {
      const r = await json("web-01", "state.apply", "leak");
      assert.equal(r.code, 1);
      assert.match(
        r.out["web-01"].error,
        /a secret in its id or name, which returns and logs show/,
      );
    });

    await t.step("a re-sealed value reaches the next apply without a restart", async () => {
      await Deno.writeTextFile(
        `${settingsDir}/db.zy`,
        `db:\n  password: ${await encrypt(plain[1]!)}\n`,
      );
      await until("the new value on web-01", async () => {
        await zester("web-01", "state.apply", "secret");
        return await Deno.readTextFile(`${filesDir("web-01")}/db.conf`) ===
          `password=${plain[1]}\n`;
      });
    });

    await t.step(
      "without settings-files web-01 applies from its sealed copy and says so",
      async () => {
        await peels.get("web-01")!.stop();
        await Deno.remove(`${filesDir("web-01")}/db.conf`);
        await (await nc.jetstreamManager()).streams.delete(`KV_${BUCKETS.settingsFiles.name}`);
        const peel = await startPeel(`${d}/peels`, ns.url, "web-01", {
          enroll: `https://127.0.0.1:${port}`,
        });
        peels.set("web-01", peel);
        await peel.waitFor(/settings source unavailable/);
        const r = await json("web-01", "state.apply", "secret");
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.out["web-01"].warnings[0], /^Settings source unavailable .*last-known-good/);
        assert.equal(
          await Deno.readTextFile(`${filesDir("web-01")}/db.conf`),
          `password=${plain[1]}\n`,
        );
      },
    );

    await t.step("no plaintext in any stream, log line, data dir or audit log", async () => {
      assert.ok(await scanStreams(nc, plain) > 20);
      for (
        const [name, out] of [
          ["master", master.output()],
          ...[...peels].map(([id, p]) => [id, p.output()]),
        ]
      ) {
        for (const secret of plain) assert.ok(!out!.includes(secret), `${name}'s log`);
      }
      for (const id of PEELS) {
        const files = [
          ...await filesUnder(`${d}/peels/${id}/data`),
          `${d}/peels/${id}/broker-audit.log`,
        ];
        assert.ok(files.some((f) => f.endsWith("/settings.sealed")), files.join(", "));
        for (const f of files) {
          const bytes = await Deno.readFile(f);
          for (const secret of plain) assert.equal(find(bytes, secret), -1, f);
        }
      }
    });
  } finally {
    for (const p of peels.values()) await p.stop();
    await closeClient(nc);
    await master.stop();
  }
});
