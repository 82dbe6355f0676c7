/**
 * The declaration of every JetStream KV bucket and stream Zester keeps, as in the product's
 * backup and scaling guides, and the idempotent step that creates what is missing. Retention
 * (max age, history, max bytes, replicas) is the operator's: the config sets it when a bucket is
 * created, and a later `nats stream edit` is kept, with a warning when it differs from the config.
 * @module
 */
import {
  DiscardPolicy,
  type JetStreamManager,
  type KV,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "nats";
import { formatDuration } from "../config/duration.ts";
import type { Logger } from "../log/mod.ts";
import { isJsError, JS_ERRORS } from "./errors.ts";
import { JOB_RETURNS_BUCKET, subjects } from "./subjects.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** A KV bucket: its name, how many revisions of a key it keeps, their TTL and where it lives. */
export interface BucketSpec {
  /** Bucket name; the stream is `KV_<name>`. */
  readonly name: string;
  /** Revisions kept per key. */
  readonly history: number;
  /** Time to live in milliseconds; 0 keeps values forever. */
  readonly ttlMs: number;
  /** File or memory storage. */
  readonly storage: "file" | "memory";
  /** What it holds. */
  readonly description: string;
  /** Each key is written once: the stream refuses a second write while the first is kept. */
  readonly writeOnce?: boolean;
}

/** A stream: its name, the subjects it records and how long it keeps them. */
export interface StreamSpec {
  /** Stream name. */
  readonly name: string;
  /** Subjects captured. */
  readonly subjects: readonly string[];
  /** Maximum age in milliseconds. */
  readonly maxAgeMs: number;
  /** File or memory storage. */
  readonly storage: "file" | "memory";
  /** What it holds. */
  readonly description: string;
}

/** Every KV bucket, keyed by a short name used in code. */
export const BUCKETS = {
  facts: { name: "facts", history: 5, ttlMs: 0, storage: "file", description: "Per-peel facts" },
  settingsFiles: {
    name: "settings-files",
    history: 3,
    ttlMs: 0,
    storage: "file",
    description: "Sanitized .zy settings files for peel-side rendering",
  },
  secrets: {
    name: "secrets",
    history: 3,
    ttlMs: 0,
    storage: "file",
    description: "Per-peel sealed secret values",
  },
  basket: {
    name: "basket",
    history: 1,
    ttlMs: 0,
    storage: "file",
    description: "Peel-to-peel shared data",
  },
  jobs: {
    name: "jobs",
    history: 10,
    ttlMs: 7 * DAY,
    storage: "file",
    description: "Job specs, status and ownership",
  },
  jobReturns: {
    name: JOB_RETURNS_BUCKET,
    history: 1,
    ttlMs: 7 * DAY,
    storage: "file",
    description: "Per-peel job returns, keyed <jid>.<peel-id>",
    writeOnce: true,
  },
  masterHeartbeat: {
    name: "master-heartbeat",
    history: 1,
    ttlMs: 15 * SECOND,
    storage: "file",
    description: "Master instance heartbeats",
  },
  enrollments: {
    name: "enrollments",
    history: 10,
    ttlMs: 0,
    storage: "file",
    description: "Peel enrollment records",
  },
  enrollChallenges: {
    name: "enroll-challenges",
    history: 1,
    ttlMs: 5 * MINUTE,
    storage: "memory",
    description: "Short-lived enrollment nonces",
  },
  stateFiles: {
    name: "state-files",
    history: 3,
    ttlMs: 0,
    storage: "file",
    description: "State tree, raw bytes, keyed by relative path",
  },
} as const satisfies Record<string, BucketSpec>;

/**
 * Every stream. `job-events` is the job lifecycle log the masters write (dispatched, status
 * changes); the returns themselves live in `job-returns`, where each peel stores its own.
 */
export const STREAMS = {
  jobEvents: {
    name: "job-events",
    subjects: [subjects.jobAll],
    maxAgeMs: 7 * DAY,
    storage: "file",
    description: "Job lifecycle log: dispatches and status changes",
  },
} as const satisfies Record<string, StreamSpec>;

const nanos = (ms: number) => ms * 1_000_000;
const storageType = (s: "file" | "memory") => s === "file" ? StorageType.File : StorageType.Memory;

/**
 * Limits an operator sets on a bucket or stream (config key `retention`); each one not given
 * keeps the declared default.
 */
export interface StorageLimits {
  /** Maximum age of a value in milliseconds; 0 keeps values forever. */
  readonly maxAgeMs?: number;
  /** Revisions kept per key (buckets only). */
  readonly history?: number;
  /** Most bytes kept; -1 for no limit. */
  readonly maxBytes?: number;
  /** Servers of a cluster that keep it. */
  readonly replicas?: number;
}

/** The JetStream stream that holds bucket `name`, as nats.js's KV names it. */
export function bucketStream(name: string): string {
  return `KV_${name}`;
}

/** The JetStream stream config a bucket needs (the same layout nats.js's KV creates). */
export function bucketStreamConfig(
  spec: BucketSpec,
  limits: StorageLimits = {},
): Partial<StreamConfig> & { name: string } {
  const ttlMs = limits.maxAgeMs ?? spec.ttlMs;
  return {
    name: bucketStream(spec.name),
    subjects: [`$KV.${spec.name}.>`],
    description: spec.description,
    max_msgs_per_subject: limits.history ?? spec.history,
    max_age: nanos(ttlMs),
    storage: storageType(spec.storage),
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    discard_new_per_subject: spec.writeOnce ?? false,
    allow_rollup_hdrs: true,
    deny_delete: true,
    deny_purge: false,
    allow_direct: true,
    num_replicas: limits.replicas ?? 1,
    max_msg_size: -1,
    max_msgs: -1,
    max_bytes: limits.maxBytes ?? -1,
    duplicate_window: nanos(Math.min(ttlMs || 2 * MINUTE, 2 * MINUTE)),
  };
}

/** The JetStream stream config a stream spec stands for. */
export function streamConfig(
  spec: StreamSpec,
  limits: StorageLimits = {},
): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    description: spec.description,
    max_age: nanos(limits.maxAgeMs ?? spec.maxAgeMs),
    max_bytes: limits.maxBytes ?? -1,
    storage: storageType(spec.storage),
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: limits.replicas ?? 1,
  };
}

/**
 * Bind to the declared bucket `spec` without asking the server first (nats.js would call
 * `$JS.API.INFO`, which peels and CLI users may not), reading keys by direct get, which every
 * bucket allows and whose subject names the key, so permissions can grant single keys.
 */
export async function openBucket(nc: NatsConnection, spec: BucketSpec): Promise<KV> {
  return await nc.jetstream({ checkAPI: false }).views.kv(spec.name, {
    bindOnly: true,
    allow_direct: true,
  });
}

/** A retention limit of a stream that differs from the config: the operator's, left alone. */
export interface Drift {
  /** The config's name of the limit. */
  readonly field: "max_age" | "history" | "max_bytes" | "replicas";
  /** What the config says. */
  readonly configured: number;
  /** What the stream has. */
  readonly actual: number;
}

/** What provisioning did to one stream. */
export interface ProvisionResult {
  /** Stream name. */
  stream: string;
  /** `created`, `updated` (subjects or write-once corrected) or `unchanged`. */
  action: "created" | "updated" | "unchanged";
  /** Retention limits that differ from the config, kept as they are. */
  drift?: Drift[];
}

/** How {@linkcode provisionStorage} sets up buckets and streams. */
export interface ProvisionOptions {
  /** Servers of a cluster that keep each bucket and stream, unless `limits` says (default 1). */
  readonly replicas?: number;
  /** Limits by bucket or stream name (`jobs`, `job-events`) over the declared defaults. */
  readonly limits?: Readonly<Record<string, StorageLimits>>;
  /** Where drift is reported, one warning per limit. */
  readonly log?: Logger;
}

/** The names `limits` may use: every bucket's and stream's. */
export const STORAGE_NAMES: readonly string[] = [
  ...Object.values(BUCKETS).map((b) => b.name),
  ...Object.values(STREAMS).map((st) => st.name),
];

/**
 * Create every bucket and stream that is missing, with the configured limits; correct the
 * subjects and write-once flag of those that drifted, which Zester depends on; and leave their
 * retention limits (max age, history, max bytes, replicas) as they are, which are the operator's
 * to change with `nats stream edit`: where they differ from the config, each is reported as
 * drift and logged as a warning. Safe to run at every master start, by every master. Storage
 * type cannot change in place; a mismatch there is an error naming the stream.
 */
export async function provisionStorage(
  jsm: JetStreamManager,
  opts: ProvisionOptions = {},
): Promise<ProvisionResult[]> {
  const limits = (name: string) => ({ replicas: opts.replicas, ...opts.limits?.[name] });
  const wanted = [
    ...Object.values(BUCKETS).map((b) => bucketStreamConfig(b, limits(b.name))),
    ...Object.values(STREAMS).map((st) => streamConfig(st, limits(st.name))),
  ];
  const results: ProvisionResult[] = [];
  for (const cfg of wanted) {
    const result = await ensureStream(jsm, cfg);
    for (const d of result.drift ?? []) {
      opts.log?.warn(driftMessage(cfg.name, d), { ...d, stream: cfg.name });
    }
    results.push(result);
  }
  return results;
}

const LIMITS = [
  ["max_age", "max_age", "--max-age"],
  ["history", "max_msgs_per_subject", "--max-msgs-per-subject"],
  ["max_bytes", "max_bytes", "--max-bytes"],
  ["replicas", "num_replicas", "--replicas"],
] as const;

function showLimit(field: Drift["field"], value: number): string {
  if (field !== "max_age") return String(value);
  const ms = value / 1_000_000;
  if (ms === 0) return "0 (forever)";
  return ms % DAY === 0 ? `${ms / DAY}d` : formatDuration(ms);
}

/** The warning for one drifted limit: which, both values, and the command that applies the config. */
export function driftMessage(stream: string, d: Drift): string {
  const flag = LIMITS.find(([f]) => f === d.field)![2];
  const configured = showLimit(d.field, d.configured);
  return `Stream "${stream}" has ${d.field} ${
    showLimit(d.field, d.actual)
  } where the config says ${configured}: left as it is (nats stream edit ${stream} ${flag} ${
    configured.split(" ")[0]
  } applies the config)`;
}

async function ensureStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
): Promise<ProvisionResult> {
  const stream = cfg.name;
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(cfg.name)).config;
  } catch (e) {
    if (!isJsError(e, JS_ERRORS.streamNotFound)) throw e;
    try {
      await jsm.streams.add(cfg);
      return { stream, action: "created" };
    } catch (e2) {
      // Another master created it between our info and add.
      if (!isJsError(e2, JS_ERRORS.streamNameInUse)) throw e2;
      current = (await jsm.streams.info(cfg.name)).config;
    }
  }
  if (current.storage !== cfg.storage) {
    throw new Error(
      `Cannot provision stream "${cfg.name}": it uses ${current.storage} storage, want ${cfg.storage}`,
    );
  }
  const drift: Drift[] = [];
  for (const [field, key] of LIMITS) {
    const configured = cfg[key];
    if (configured !== undefined && current[key] !== configured) {
      drift.push({ field, configured, actual: current[key] });
    }
  }
  const structural =
    // The server leaves the flag out when false.
    (cfg.discard_new_per_subject !== undefined &&
      (current.discard_new_per_subject ?? false) !== cfg.discard_new_per_subject) ||
    JSON.stringify(current.subjects) !== JSON.stringify(cfg.subjects);
  const found = drift.length ? { drift } : {};
  if (!structural) return { stream, action: "unchanged", ...found };
  await jsm.streams.update(cfg.name, {
    ...current,
    subjects: cfg.subjects,
    ...(cfg.discard_new_per_subject !== undefined &&
      { discard_new_per_subject: cfg.discard_new_per_subject }),
  });
  return { stream, action: "updated", ...found };
}
