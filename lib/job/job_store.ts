/**
 * A job in the `jobs` bucket: its record under `<jid>`, its id lists beside it in chunks of
 * {@linkcode IDS_PER_CHUNK} ids, and a marker `active.<jid>` while it is not finished, so that
 * masters find unfinished jobs without reading every record. A job may target 100,000 peels,
 * whose ids of up to 128 characters take 13 MB; no single message of that size fits the
 * server's max payload (1 MiB by default), and compression cannot promise to. Chunks fit at any
 * size.
 *
 * Every write after the first is a compare-and-set on the record's revision: a master writes a
 * job only if nobody wrote it since its own last write, so a master that lost the job to
 * another (whose claim gave it a newer epoch) cannot overwrite it. The lists a finished job
 * gains (`missing`, `absent`) are keyed by the writer's epoch for the same reason.
 *
 * @example
 * ```ts
 * const revision = await createJob(kv, job);
 * const claimed = await writeJob(kv, { ...job, status: "claimed" }, revision);
 * ```
 * @module
 */
import type { KV } from "nats";
import { decode, encode, isJsError, JS_ERRORS, PEEL_ID_PATTERN } from "../bus/mod.ts";
import * as s from "../schema/mod.ts";
import { isTerminal, type Job, JobRecord } from "./types.ts";

/** Ids per chunk: 4,096 ids of at most 128 characters encode to at most 533 KB. */
export const IDS_PER_CHUNK = 4096;

/** Someone else wrote the job since this writer's last write: it no longer owns it. */
export class StaleJobError extends Error {
  /** Build the error for job `jid`. */
  constructor(jid: string, options?: ErrorOptions) {
    super(`Job ${jid} was written by another master since revision was read`, options);
    this.name = "StaleJobError";
  }
}

type IdList = "targets" | "missing" | "absent";

const Ids = s.array(s.string({ pattern: PEEL_ID_PATTERN, expected: "a peel id" }), {
  maxItems: IDS_PER_CHUNK,
});

const ACTIVE = "active";

function chunkKey(jid: string, list: IdList, n: number, epoch?: number): string {
  return list === "targets" ? `${jid}.targets.${n}` : `${jid}.${list}.${epoch ?? 0}.${n}`;
}

function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_CHUNK) out.push(ids.slice(i, i + IDS_PER_CHUNK));
  return out;
}

/**
 * Chunks written at once: with all of a 100,000-peel list's 25 in flight (13 MB), the last one's
 * answer waits for every other and a loaded server took longer than a request's 5 s limit.
 */
const CHUNKS_IN_FLIGHT = 4;

/** Run `write` on each of `items`, at most {@linkcode CHUNKS_IN_FLIGHT} at a time. */
async function writeChunks<T>(items: T[], write: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNKS_IN_FLIGHT) {
    await Promise.all(items.slice(i, i + CHUNKS_IN_FLIGHT).map(write));
  }
}

function toRecord(job: Job): JobRecord {
  const { targets, missing, absent, ...rest } = job;
  return {
    ...rest,
    target_count: targets.length,
    ...(missing ? { missing_count: missing.length } : {}),
    ...(absent ? { absent_count: absent.length } : {}),
  };
}

/**
 * Store a new job: its target list, then its record and its active marker, so that a record is
 * never seen without its targets. Resolves with the record's revision; throws when the JID is
 * taken (nats.js's "wrong last sequence").
 */
export async function createJob(kv: KV, job: Job): Promise<number> {
  await writeChunks(
    chunks(job.targets).map((ids, n) => [chunkKey(job.jid, "targets", n), ids] as const),
    ([key, ids]) => kv.create(key, encode(ids)),
  );
  const [revision] = await Promise.all([
    kv.create(job.jid, encode(toRecord(job))),
    kv.put(`${ACTIVE}.${job.jid}`, new Uint8Array(0)),
  ]);
  return revision;
}

/**
 * Store a job's new state if its record is still at `revision`: its `missing` and `absent`
 * ids under its epoch, then its record. Resolves with the new revision; throws
 * {@linkcode StaleJobError} when another master wrote it in between. A finished job loses its
 * active marker.
 */
export async function writeJob(kv: KV, job: Job, revision: number): Promise<number> {
  const lists = [["missing", job.missing], ["absent", job.absent]] as const;
  await writeChunks(
    lists.flatMap(([list, ids]) =>
      chunks(ids ?? []).map((part, n) => [chunkKey(job.jid, list, n, job.epoch), part] as const)
    ),
    ([key, part]) => kv.put(key, encode(part)),
  );
  let next: number;
  try {
    next = await kv.update(job.jid, encode(toRecord(job)), revision);
  } catch (e) {
    if (isJsError(e, JS_ERRORS.wrongLastSequence)) throw new StaleJobError(job.jid, { cause: e });
    throw e;
  }
  if (isTerminal(job.status)) await forgetActive(kv, job.jid);
  return next;
}

/** Remove the active marker of job `jid` (finished, or found finished by a scan). */
export async function forgetActive(kv: KV, jid: string): Promise<void> {
  await kv.delete(`${ACTIVE}.${jid}`);
}

/** The JIDs of jobs marked active: not finished, or finished by a master that died just then. */
export async function activeJobIds(kv: KV): Promise<string[]> {
  const jids: string[] = [];
  for await (const k of await kv.keys(`${ACTIVE}.*`)) jids.push(k.slice(ACTIVE.length + 1));
  return jids;
}

/** The record of job `jid` without its id lists (enough to list jobs), if there is one. */
export async function readJobRecord(kv: KV, jid: string): Promise<JobRecord | undefined> {
  return (await readRecordEntry(kv, jid))?.record;
}

async function readRecordEntry(
  kv: KV,
  jid: string,
): Promise<{ record: JobRecord; revision: number } | undefined> {
  const e = await kv.get(jid);
  if (e?.operation !== "PUT") return undefined;
  return { record: JobRecord.parse(decode(e.value), jid), revision: e.revision };
}

/** Job `jid` with its id lists, and the revision to write it back at, if there is one. */
export async function readJobAt(
  kv: KV,
  jid: string,
): Promise<{ job: Job; revision: number } | undefined> {
  const entry = await readRecordEntry(kv, jid);
  if (!entry) return undefined;
  const { target_count, missing_count, absent_count, ...rest } = entry.record;
  const list = (name: IdList, count: number | undefined) =>
    count === undefined ? undefined : readIds(kv, jid, name, count, rest.epoch);
  const [targets, missing, absent] = await Promise.all([
    readTargets(kv, jid, target_count),
    list("missing", missing_count),
    list("absent", absent_count),
  ]);
  const job: Job = {
    ...rest,
    targets,
    ...(missing ? { missing } : {}),
    ...(absent ? { absent } : {}),
  };
  return { job, revision: entry.revision };
}

/** Job `jid` with its targets and, once finished, the targets that did not return. */
export async function readJob(kv: KV, jid: string): Promise<Job | undefined> {
  return (await readJobAt(kv, jid))?.job;
}

/** The `count` targets of job `jid`, as its dispatch reply counts them. */
export function readTargets(kv: KV, jid: string, count: number): Promise<string[]> {
  return readIds(kv, jid, "targets", count);
}

/** The JIDs in the `jobs` bucket (the records' keys, not their chunks' or markers'). */
export async function jobIds(kv: KV): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of await kv.keys("*")) keys.push(k);
  return keys;
}

async function readIds(
  kv: KV,
  jid: string,
  list: IdList,
  count: number,
  epoch?: number,
): Promise<string[]> {
  const parts = await Promise.all(
    Array.from({ length: Math.ceil(count / IDS_PER_CHUNK) }, async (_, n) => {
      const key = chunkKey(jid, list, n, epoch);
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
