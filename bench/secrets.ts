/**
 * The cost of settings and their secrets: a peel compiling a 200-key settings tree (Jinja and
 * YAML, top file, includes), and the master's sealer re-sealing a tree's `!encrypted` values for
 * 1,000 enrolled peels into `secrets` — the first time, when nothing changed, after a value
 * changed in the tree, and by a master started over records it did not write.
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, encode, openBucket } from "../lib/bus/mod.ts";
import { Logger } from "../lib/log/mod.ts";
import { createBoxKey, encodeBoxPublicKey, sealToMaster } from "../lib/secrets/mod.ts";
import { compileSettings } from "../lib/settings/mod.ts";
import { FactIndex } from "../master/fact_index.ts";
import { SecretSealer } from "../master/settings_secrets.ts";

const r1 = (x: number) => Math.round(x * 10) / 10;
const utf8 = new TextEncoder();

/** A settings tree of 10 files of 20 keys each (every fifth rendered with Jinja), one included. */
function renderTree(): Map<string, string> {
  const files = new Map<string, string>();
  const refs: string[] = [];
  for (let f = 0; f < 10; f++) {
    const lines = [`app_${f}:`];
    for (let k = 0; k < 20; k++) {
      lines.push(
        k % 5 === 0
          ? `  key_${k}: "{{ grains['role'] }}-{{ peel_id }}-${k}"`
          : `  key_${k}: value-${f}-${k}`,
      );
    }
    files.set(`app/f${f}.zy`, (f === 1 ? "include:\n  - app.f9\n" : "") + lines.join("\n") + "\n");
    if (f !== 9) refs.push(`    - app.f${f}`);
  }
  files.set("top.zy", `base:\n  '*':\n${refs.join("\n")}\n`);
  return files;
}

/** Mean milliseconds of compiling the 200-key tree for `peels` peels, one after another. */
async function renderPerPeel(peels: number): Promise<number> {
  const files = renderTree();
  await compileSettings({ files, peelId: "warm", facts: { role: "web" } });
  const t0 = performance.now();
  for (let i = 0; i < peels; i++) {
    const out = await compileSettings({ files, peelId: `p-${i}`, facts: { role: "web" } });
    if (Object.keys(out).length !== 10) throw new Error("the 200-key tree compiled wrong");
  }
  return (performance.now() - t0) / peels;
}

/**
 * Settings render time per peel, and the master's sealer with `peels` enrolled peels and a tree
 * of `secrets` sealed values in one file every peel's top file assigns.
 */
export async function secretsReseal(nc: NatsConnection, peels = 1000, secrets = 20) {
  const renderMs = await renderPerPeel(20);
  const masterKey = createBoxKey();
  const enrollKv = await openBucket(nc, BUCKETS.enrollments);
  const secretsKv = await openBucket(nc, BUCKETS.secrets);
  const ids = Array.from({ length: peels }, (_, i) => `sp-${i}`);
  const index = new FactIndex();
  const now = new Date().toISOString();
  for (const id of ids) {
    index.set(id, { role: "web" });
    await enrollKv.put(
      id,
      encode({
        id,
        nkey: `U${"A".repeat(55)}`,
        box_public_key: encodeBoxPublicKey(createBoxKey().publicKey),
        status: "active",
        created: now,
        updated: now,
        history: [],
      }),
    );
  }
  const log = new Logger({ level: "error", sink: () => {} });
  const newSealer = () =>
    new SecretSealer({ secretsKv, enrollmentsKv: enrollKv, index, boxKey: masterKey, log });
  let sealer = newSealer();
  const tree = (version: number) => {
    const lines = ["app:"];
    for (let i = 0; i < secrets; i++) {
      lines.push(
        `  secret_${i}: !encrypted ${sealToMaster(`v${version}-${i}`, masterKey.publicKey)}`,
      );
    }
    sealer.transform("top.zy", utf8.encode("base:\n  '*':\n    - app\n"));
    sealer.transform("app.zy", utf8.encode(lines.join("\n") + "\n"));
    return sealer.published(new Set(["top.zy", "app.zy"]));
  };
  try {
    await tree(1);
    let t0 = performance.now();
    await sealer.start();
    const firstMs = performance.now() - t0;
    t0 = performance.now();
    await sealer.sealAll();
    const unchangedMs = performance.now() - t0;
    t0 = performance.now();
    await tree(2);
    const changedMs = performance.now() - t0;
    await sealer.stop();
    sealer = newSealer();
    await tree(2);
    t0 = performance.now();
    await sealer.start();
    const restartedMs = performance.now() - t0;
    return {
      render_200_keys_ms_per_peel: r1(renderMs),
      peels,
      secrets,
      first_seal_ms: r1(firstMs),
      unchanged_ms: r1(unchangedMs),
      changed_tree_ms: r1(changedMs),
      restarted_ms: r1(restartedMs),
      note:
        "render: compileSettings of 10 files × 20 keys with Jinja; seal: the master's sealer, top file per peel, records written to secrets; restarted: a new sealer reads and compares every record",
    };
  } finally {
    await sealer.stop();
    for (const id of ids) {
      await enrollKv.purge(id);
      await secretsKv.purge(id);
    }
  }
}
