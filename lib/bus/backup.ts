/**
 * Backup and restore of every bucket and stream Zester keeps, with the JetStream API alone (no
 * `nats` CLI): a backup reads each stream's messages in order, with their subjects, headers and
 * times, into one file per stream beside a `manifest.json` of the stream configs; a restore
 * creates each stream with its backed-up config and publishes the messages again, in order, so
 * KV histories, deletes and purges come back as they were.
 *
 * Not preserved: sequence numbers (KV revisions start again from 1) and message times — a
 * restored message is as old as the restore, so a 6-day-old job with a 7-day TTL lives 7 more
 * days; messages already past their stream's max age are not restored. Short-lived buckets
 * (heartbeats, enrollment challenges) are not backed up: they are stale by any restore.
 * @module
 */
import { decodeMulti, encode as msgpack } from "@msgpack/msgpack";
import { headers as natsHeaders, type NatsConnection, type PubAck, type StreamConfig } from "nats";
import { isJsError, JS_ERRORS } from "./errors.ts";
import { BUCKETS, bucketStream, STREAMS } from "./storage.ts";

/** The format written into every manifest. */
export const BACKUP_FORMAT = "zester-backup/1";

/** Buckets whose values live less than this are live state, not data: not backed up. */
const SHORT_LIVED_MS = 60 * 60 * 1000;

/** The streams a backup holds: every bucket's but the short-lived ones, and every stream. */
export const BACKUP_STREAMS: readonly string[] = [
  ...Object.values(BUCKETS)
    .filter((b) => b.ttlMs === 0 || b.ttlMs >= SHORT_LIVED_MS)
    .map((b) => bucketStream(b.name)),
  ...Object.values(STREAMS).map((st) => st.name),
];

/** One stream in a backup. */
export interface StreamBackup {
  /** Stream name. */
  name: string;
  /** Its config when backed up. */
  config: StreamConfig;
  /** Messages written. */
  messages: number;
  /** The file they are in, relative to the manifest. */
  file: string;
}

/** `manifest.json`: what a backup holds. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  /** When the backup started (ISO 8601). */
  created: string;
  streams: StreamBackup[];
}

/** One message as a backup keeps it. */
interface BackupRecord {
  /** Subject. */
  s: string;
  /** Headers, as name and value pairs. */
  h?: [string, string][];
  /** Payload. */
  d: Uint8Array;
  /** Time stored, milliseconds since the epoch. */
  t: number;
}

/** A backup or restore that cannot go on. */
export class BackupError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackupError";
  }
}

const MANIFEST = "manifest.json";

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

/**
 * Write a backup of every stream of {@linkcode BACKUP_STREAMS} into `dir` (created; it must be
 * empty). Each stream is read up to its last message when its turn comes, through an ordered
 * consumer; a stream that does not exist is skipped.
 */
export async function createBackup(nc: NatsConnection, dir: string): Promise<BackupManifest> {
  if (!await isEmptyDir(dir)) {
    throw new BackupError(`Cannot back up into "${dir}": it is not empty`);
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    created: new Date().toISOString(),
    streams: [],
  };
  for (const name of BACKUP_STREAMS) {
    let info;
    try {
      info = await jsm.streams.info(name);
    } catch (e) {
      if (isJsError(e, JS_ERRORS.streamNotFound)) continue;
      throw new BackupError(`Cannot back up stream "${name}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    const file = `${name}.msgpack`;
    const out = await Deno.open(`${dir}/${file}`, { write: true, createNew: true, mode: 0o600 });
    let messages = 0;
    try {
      const last = info.state.last_seq;
      if (info.state.messages > 0) {
        const consumer = await js.consumers.get(name);
        const iter = await consumer.consume();
        for await (const m of iter) {
          if (m.seq > last) break;
          const record: BackupRecord = {
            s: m.subject,
            d: m.data,
            t: Math.floor(m.info.timestampNanos / 1_000_000),
          };
          if (m.headers) {
            record.h = [];
            for (const [k, vs] of m.headers) for (const v of vs) record.h.push([k, v]);
          }
          await writeAll(out, msgpack(record));
          messages++;
          if (m.seq === last || m.info.pending === 0) break;
        }
        await iter.close();
      }
    } catch (e) {
      throw new BackupError(`Cannot back up stream "${name}": ${(e as Error).message}`, {
        cause: e,
      });
    } finally {
      out.close();
    }
    manifest.streams.push({ name, config: info.config, messages, file });
  }
  await Deno.writeTextFile(`${dir}/${MANIFEST}`, JSON.stringify(manifest, null, 2) + "\n", {
    mode: 0o600,
  });
  return manifest;
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
}

/** Read and check `manifest.json` of the backup in `dir`. */
export async function readManifest(dir: string): Promise<BackupManifest> {
  const path = `${dir}/${MANIFEST}`;
  let m: BackupManifest;
  try {
    m = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new BackupError(`Cannot read backup manifest "${path}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (m?.format !== BACKUP_FORMAT || !Array.isArray(m.streams)) {
    throw new BackupError(`Cannot restore "${path}": expected a ${BACKUP_FORMAT} manifest`);
  }
  for (const s of m.streams) {
    if (!BACKUP_STREAMS.includes(s?.name) || typeof s.file !== "string" || s.file.includes("/")) {
      throw new BackupError(
        `Cannot restore "${path}": stream ${JSON.stringify(s?.name)} is not one Zester keeps`,
      );
    }
  }
  return m;
}

/** How a restore treats the store it restores into. */
export interface RestoreOptions {
  /** Purge streams that hold messages instead of refusing to restore into them. */
  replace?: boolean;
  /** Servers that keep each stream, instead of the backed-up count (restoring into a cluster). */
  replicas?: number;
  /** The time restored messages are compared with their stream's max age; default now. */
  now?: number;
}

/** What a restore did to one stream. */
export interface RestoreResult {
  stream: string;
  /** Messages published again. */
  restored: number;
  /** Messages past their stream's max age, left out. */
  expired: number;
}

/** Headers that would make the server refuse or drop a message published again. */
const STALE_HEADER = /^Nats-(Msg-Id|Expected-.*)$/i;

/** Publishes at once before waiting for their acks. */
const WINDOW = 256;

/**
 * Restore the backup in `dir`: each stream is created with its backed-up config (or updated to
 * it), then its messages are published again in order. A stream that holds messages is refused
 * unless `replace` purges it first; nothing is written when any is refused. Stop the masters
 * first: they write as they start.
 */
export async function restoreBackup(
  nc: NatsConnection,
  dir: string,
  opts: RestoreOptions = {},
): Promise<RestoreResult[]> {
  const manifest = await readManifest(dir);
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const now = opts.now ?? Date.now();
  const existing = new Map<string, number>();
  for (const s of manifest.streams) {
    try {
      existing.set(s.name, (await jsm.streams.info(s.name)).state.messages);
    } catch (e) {
      if (!isJsError(e, JS_ERRORS.streamNotFound)) throw e;
    }
  }
  const full = [...existing].filter(([, n]) => n > 0);
  if (full.length && !opts.replace) {
    throw new BackupError(
      `Cannot restore into streams that hold messages: ${
        full.map(([s, n]) => `"${s}" (${n})`).join(", ")
      }; stop the masters, and pass --replace to purge them first`,
    );
  }
  const results: RestoreResult[] = [];
  for (const s of manifest.streams) {
    const config: StreamConfig = {
      ...s.config,
      num_replicas: opts.replicas ?? s.config.num_replicas,
    };
    try {
      if (existing.has(s.name)) {
        await jsm.streams.update(s.name, config);
        if (existing.get(s.name)! > 0) await jsm.streams.purge(s.name);
      } else {
        await jsm.streams.add(config);
      }
    } catch (e) {
      throw new BackupError(`Cannot restore stream "${s.name}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    const maxAgeMs = (config.max_age ?? 0) / 1_000_000;
    const result: RestoreResult = { stream: s.name, restored: 0, expired: 0 };
    const inFlight: Promise<PubAck>[] = [];
    const bytes = await Deno.readFile(`${dir}/${s.file}`);
    try {
      for (const raw of decodeMulti(bytes)) {
        const r = raw as BackupRecord;
        if (maxAgeMs > 0 && r.t + maxAgeMs <= now) {
          result.expired++;
          continue;
        }
        const h = natsHeaders();
        for (const [k, v] of r.h ?? []) if (!STALE_HEADER.test(k)) h.append(k, v);
        inFlight.push(js.publish(r.s, r.d, r.h?.length ? { headers: h } : {}));
        result.restored++;
        if (inFlight.length >= WINDOW) await Promise.all(inFlight.splice(0));
      }
      await Promise.all(inFlight);
    } catch (e) {
      throw new BackupError(`Cannot restore stream "${s.name}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    results.push(result);
  }
  return results;
}
