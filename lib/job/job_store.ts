/**
 * A job in the `jobs` bucket: its record under `<jid>`, and its id lists beside it in chunks of
 * {@linkcode IDS_PER_CHUNK} ids under `<jid>.targets.<n>` and `<jid>.missing.<n>`. A job may
 * target 100,000 peels, whose ids of up to 128 characters take 13 MB; no single message of that
 * size fits the server's max payload (1 MiB by default), and compression cannot promise to.
 * Chunks fit at any size.
 *
 * @example
 * ```ts
 * await createJob(kv, job);
 * const stored = await readJob(kv, job.jid); // the record with its targets
 * ```
 * @module
 */
import type { KV } from "nats";
import { decode, encode, PEEL_ID_PATTERN } from "../bus/mod.ts";
import * as s from "../schema/mod.ts";
import { type Job, JobRecord } from "./types.ts";

/** Ids per chunk: 4,096 ids of at most 128 characters encode to at most 533 KB. */
export const IDS_PER_CHUNK = 4096;

type IdList = "targets" | "missing";

const Ids = s.array(s.string({ pattern: PEEL_ID_PATTERN, expected: "a peel id" }), {
  maxItems: IDS_PER_CHUNK,
});

const chunkKey = (jid: string, list: IdList, n: number) => `${jid}.${list}.${n}`;

function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_CHUNK) out.push(ids.slice(i, i + IDS_PER_CHUNK));
  return out;
}

function toRecord(job: Job): JobRecord {
  const { targets, missing, ...rest } = job;
  return {
    ...rest,
    target_count: targets.length,
    ...(missing ? { missing_count: missing.length } : {}),
  };
}

/**
 * Store a new job: its target list, then its record, so that a record is never seen without its
 * targets. Throws when the JID is taken (nats.js's "wrong last sequence").
 */
export async function createJob(kv: KV, job: Job): Promise<void> {
  await Promise.all(
    chunks(job.targets).map((ids, n) => kv.create(chunkKey(job.jid, "targets", n), encode(ids))),
  );
  await kv.create(job.jid, encode(toRecord(job)));
}

/** Store a job's new state: the ids in `missing`, then its record. Its targets stay as created. */
export async function updateJob(kv: KV, job: Job): Promise<void> {
  await Promise.all(
    chunks(job.missing ?? []).map((ids, n) => kv.put(chunkKey(job.jid, "missing", n), encode(ids))),
  );
  await kv.put(job.jid, encode(toRecord(job)));
}

/** The record of job `jid` without its id lists (enough to list jobs), if there is one. */
export async function readJobRecord(kv: KV, jid: string): Promise<JobRecord | undefined> {
  const e = await kv.get(jid);
  return e?.operation === "PUT" ? JobRecord.parse(decode(e.value), jid) : undefined;
}

/** Job `jid` with its targets and, once finished, the targets that did not return. */
export async function readJob(kv: KV, jid: string): Promise<Job | undefined> {
  const record = await readJobRecord(kv, jid);
  if (!record) return undefined;
  const { target_count, missing_count, ...rest } = record;
  const [targets, missing] = await Promise.all([
    readTargets(kv, jid, target_count),
    missing_count === undefined ? undefined : readIds(kv, jid, "missing", missing_count),
  ]);
  return { ...rest, targets, ...(missing ? { missing } : {}) };
}

/** The `count` targets of job `jid`, as its dispatch reply counts them. */
export function readTargets(kv: KV, jid: string, count: number): Promise<string[]> {
  return readIds(kv, jid, "targets", count);
}

/** The JIDs in the `jobs` bucket (the records' keys, not their chunks'). */
export async function jobIds(kv: KV): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of await kv.keys("*")) keys.push(k);
  return keys;
}

async function readIds(kv: KV, jid: string, list: IdList, count: number): Promise<string[]> {
  const parts = await Promise.all(
    Array.from({ length: Math.ceil(count / IDS_PER_CHUNK) }, async (_, n) => {
      const key = chunkKey(jid, list, n);
      const e = await kv.get(key);
      if (e?.operation !== "PUT") throw new TypeError(`Job "${jid}" lacks its ${list} part ${n}`);
      return Ids.parse(decode(e.value), key);
    }),
  );
  const ids = parts.flat();
  if (ids.length !== count) {
    throw new TypeError(
      `Job "${jid}" has ${ids.length} ${list} ids where its record counts ${count}`,
    );
  }
  return ids;
}
