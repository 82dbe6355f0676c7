/**
 * The basket end to end: a peel publishes the functions its `basket:` config names, at start
 * and every interval; another peel's templates read them through `salt['mine.get']` and
 * `basket()`, and its `mine.get` function too; the CLI reads them with `zester basket`.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { BUCKETS, decode, openBucket } from "../../lib/bus/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { Master } from "../../master/master.ts";
import {
  client,
  closeClient,
  type Daemon,
  masterConfig,
  startNatsServer,
  startPeel,
  tempDir,
  until,
  waitForPeels,
  zesterAt,
} from "../harness/mod.ts";

const DISCOVER = `{% set ips = salt['mine.get']('*', 'network.ip_addrs') %}
{% set roles = basket('G@role:web', 'role_item', tgt_type='compound') %}
{% set nobody = salt['mine.get']('db-*', 'network.ip_addrs') %}
peers:
  file.managed:
    - name: {{ salt['grains.get']('files_dir') }}/peers.json
    - contents: '{{ {"ips": ips, "roles": roles, "nobody": nobody} | json }}'
`;

Deno.test("basket - peels publish per config; templates, mine.get and the CLI read it", async (t) => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const d = dir.path;
  await Deno.mkdir(`${d}/states/discover`, { recursive: true });
  await Deno.writeTextFile(`${d}/states/discover/init.zy`, DISCOVER);
  const master = await Master.start(
    await masterConfig(ns.url, d),
    new Logger({ level: "error", sink: () => {} }),
  );
  const nc = await client(ns.url);
  const cfg = `${d}/cli.yaml`;
  const zester = (...args: string[]) => zesterAt(cfg, ns.url, ...args);
  const peels: Daemon[] = [];
  try {
    for (const [id, role] of [["web-01", "web"], ["web-02", "app"]] as const) {
      await Deno.mkdir(`${d}/peels/${id}`, { recursive: true });
      await Deno.writeTextFile(
        `${d}/peels/${id}/facts.yaml`,
        stringify({ role, files_dir: `${d}/peels/${id}/files` }),
      );
    }
    peels.push(
      await startPeel(`${d}/peels`, ns.url, "web-01", {
        extra: {
          basket: {
            interval: "2s",
            functions: {
              "network.ip_addrs": { include_loopback: true },
              role_item: [{ mine_function: "grains.item" }, "role"],
              broken: { mine_function: "facts.get" },
            },
          },
        },
      }),
      await startPeel(`${d}/peels`, ns.url, "web-02"),
    );
    await waitForPeels(nc, ["web-01", "web-02"]);
    const kv = await openBucket(nc, BUCKETS.basket);
    const first = await until("web-01's entries", async () => {
      const e = await kv.get("web-01.role_item");
      return e?.operation === "PUT" ? e : undefined;
    });
    assert.deepEqual(decode(first.value), { role: "web" });

    await t.step("a failing function is logged by name; the others are published", async () => {
      const line = await peels[0]!.waitFor(/basket function failed/);
      assert.match(line, /"function":"broken"/);
      assert.match(line, /facts\.get needs the argument \\?"key\\?"/);
      assert.equal(await kv.get("web-01.broken"), null);
      const ips = decode((await kv.get("web-01.network.ip_addrs"))!.value) as string[];
      assert.ok(ips.includes("127.0.0.1"), JSON.stringify(ips));
    });

    await t.step("entries are published again every interval", async () => {
      const again = await until("a newer revision", async () => {
        const e = await kv.get("web-01.role_item");
        return e && e.revision > first.revision ? e : undefined;
      });
      assert.deepEqual(decode(again.value), { role: "web" });
    });

    await t.step(
      "another peel's state templates read them with mine.get and basket()",
      async () => {
        const r = await zester("web-02", "state.apply", "discover", "--format", "json", "--static");
        assert.equal(r.code, 0, r.stderr + r.stdout);
        const got = JSON.parse(await Deno.readTextFile(`${d}/peels/web-02/files/peers.json`));
        assert.deepEqual(Object.keys(got.ips), ["web-01"]);
        assert.ok(got.ips["web-01"].includes("127.0.0.1"));
        assert.deepEqual(got.roles, { "web-01": { role: "web" } });
        assert.deepEqual(got.nobody, {});
      },
    );

    await t.step(
      "mine.get as a function, with a fact-based tgt_type resolved by the master",
      async () => {
        const r = await zester(
          "web-02",
          "mine.get",
          "role:web",
          "role_item",
          "tgt_type=grain",
          "--format",
          "json",
          "--static",
        );
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.deepEqual(JSON.parse(r.stdout)["web-02"].result, { "web-01": { role: "web" } });
        const none = await zester("web-02", "mine.get", "role:db", "role_item", "tgt_type=grain");
        assert.match(none.stdout, /web-02:\n\s+\{\}/);
      },
    );

    await t.step("zester basket get and list", async () => {
      const json = await zester("basket", "get", "web-*", "role_item", "--format", "json");
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), { "web-01": { role: "web" } });
      const text = await zester("basket", "get", "G@role:web", "network.ip_addrs");
      assert.match(text.stdout, /^web-01:\n {4}- 127\.0\.0\.1/m);
      const grain = await zester("basket", "get", "role:app", "role_item", "--tgt-type", "grain");
      assert.equal(
        grain.stdout.trim(),
        'No peel matching "role:app" (grain) has "role_item" in the basket.',
      );
      const list = await zester("basket", "list", "web-01", "--format", "json");
      assert.deepEqual(JSON.parse(list.stdout), { "web-01": ["network.ip_addrs", "role_item"] });
      const bad = await zester("basket", "get", "web-* and (", "role_item");
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /Cannot parse target "web-\* and \(": unbalanced parenthesis/);
    });

    await t.step(
      "mine.send, mine.delete and mine.flush change the peel's own entries",
      async () => {
        const sent = await zester(
          "web-02",
          "mine.send",
          "greeting",
          "mine_function=test.echo",
          "text=hi",
        );
        assert.equal(sent.code, 0, sent.stderr + sent.stdout);
        await zester("web-02", "mine.send", "my ver", "mine_function=test.version");
        const lo = await zester(
          "web-02",
          "mine.send",
          "lo",
          "mine_function=network.ip_addrs",
          "cidr=127.0.0.0/8",
          "include_loopback=True",
        );
        assert.equal(lo.code, 0, lo.stderr + lo.stdout);
        assert.deepEqual(decode((await kv.get("web-02.lo"))!.value), ["127.0.0.1"]);
        const badCidr = await zester("web-02", "network.ip_addrs", "cidr=nonsense");
        assert.match(
          badCidr.stdout,
          /network\.ip_addrs: Invalid cidr "nonsense": expected a network/,
        );
        const list = await zester("basket", "list", "web-02", "--format", "json");
        assert.deepEqual(JSON.parse(list.stdout), { "web-02": ["greeting", "lo", "my ver"] });
        assert.ok(await kv.get("web-02.my=20ver"), "the name is encoded in the key");
        const got = await zester("basket", "get", "*", "greeting", "--format", "json");
        assert.deepEqual(JSON.parse(got.stdout), { "web-02": "hi" });
        assert.equal((await zester("web-02", "mine.delete", "greeting")).code, 0);
        const after = await zester("basket", "list", "web-02", "--format", "json");
        assert.deepEqual(JSON.parse(after.stdout), { "web-02": ["lo", "my ver"] });
        assert.equal((await zester("web-02", "mine.flush")).code, 0);
        const flushed = await zester("basket", "list", "web-02", "--format", "json");
        assert.deepEqual(JSON.parse(flushed.stdout), { "web-02": [] });
        const update = await zester("web-01", "mine.update", "--format", "json", "--static");
        assert.equal(update.code, 1);
        assert.match(JSON.parse(update.stdout)["web-01"].result.failed.broken, /facts\.get needs/);
      },
    );
  } finally {
    for (const p of peels) await p.stop();
    await closeClient(nc);
    await master.stop();
  }
});
