/**
 * The master's cost of secrets: opening the `!encrypted` values of a settings tree once, then
 * sealing them again for every peel into `secrets`, and checking an unchanged fleet (each
 * record read and opened, nothing written).
 * @module
 */
import type { NatsConnection } from "nats";
import { BUCKETS, openBucket } from "../lib/bus/mod.ts";
import {
  createBoxKey,
  openMasterSealed,
  peelSecretsRecord,
  publishPeelSecrets,
  sealToMaster,
} from "../lib/secrets/mod.ts";

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Time `fn` on `ids` with `concurrency` at a time; resolves to milliseconds and what it wrote. */
async function eachPeel(
  ids: string[],
  concurrency: number,
  fn: (id: string) => Promise<boolean>,
): Promise<{ ms: number; written: number }> {
  let next = 0;
  let written = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ids.length) if (await fn(ids[next++]!)) written++;
  }));
  return { ms: performance.now() - t0, written };
}

/** Re-seal `secrets` values for `peels` peels, in memory and through the `secrets` bucket. */
export async function secretsReseal(nc: NatsConnection, peels = 1000, secrets = 20) {
  const master = createBoxKey();
  const literals = Array.from(
    { length: secrets },
    (_, i) => [`app.secret_${i}`, sealToMaster(`value-${i}-${"x".repeat(24)}`, master.publicKey)],
  );
  const keys = new Map(Array.from({ length: peels }, (_, i) => [`sp-${i}`, createBoxKey()]));
  const ids = [...keys.keys()];

  let t0 = performance.now();
  const opened = Object.fromEntries(literals.map(([id, l]) => [id!, openMasterSealed(l!, master)]));
  const openMs = performance.now() - t0;
  t0 = performance.now();
  await Promise.all([...keys.values()].map((k) => peelSecretsRecord(opened, k.publicKey, master)));
  const sealMs = performance.now() - t0;

  const kv = await openBucket(nc, BUCKETS.secrets);
  const publish = (id: string) =>
    publishPeelSecrets(kv, id, keys.get(id)!.publicKey, opened, master);
  const first = await eachPeel(ids, 32, publish);
  const unchanged = await eachPeel(ids, 32, publish);
  await eachPeel(ids, 32, async (id) => (await kv.purge(id), false));
  return {
    peels,
    secrets,
    open_ms: r1(openMs),
    seal_ms: r1(sealMs),
    publish_ms: r1(first.ms),
    written: first.written,
    unchanged_ms: r1(unchanged.ms),
    unchanged_written: unchanged.written,
    note:
      "seal: records built in memory; publish: written to secrets; unchanged: read and compared",
  };
}
