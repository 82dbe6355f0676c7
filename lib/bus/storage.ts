/**
 * The declaration of every JetStream KV bucket and stream Zester keeps, as in the product's
 * backup and scaling guides, and the idempotent step that creates or corrects them.
 * @module
 */
import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "nats";
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
  updateManifests: {
    name: "update-manifests",
    history: 5,
    ttlMs: 0,
    storage: "file",
    description: "Self-update manifests",
  },
  updateStatus: {
    name: "update-status",
    history: 1,
    ttlMs: 60 * SECOND,
    storage: "file",
    description: "Watchdog update heartbeats",
  },
  updateRollouts: {
    name: "update-rollouts",
    history: 10,
    ttlMs: 0,
    storage: "file",
    description: "Fleet rollout state",
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

/** The JetStream stream config a bucket needs (the same layout nats.js's KV creates). */
export function bucketStreamConfig(spec: BucketSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: `KV_${spec.name}`,
    subjects: [`$KV.${spec.name}.>`],
    description: spec.description,
    max_msgs_per_subject: spec.history,
    max_age: nanos(spec.ttlMs),
    storage: storageType(spec.storage),
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    allow_rollup_hdrs: true,
    deny_delete: true,
    deny_purge: false,
    allow_direct: true,
    num_replicas: 1,
    max_msg_size: -1,
    max_msgs: -1,
    max_bytes: -1,
    duplicate_window: nanos(Math.min(spec.ttlMs || 2 * MINUTE, 2 * MINUTE)),
  };
}

/** The JetStream stream config a stream spec stands for. */
export function streamConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    description: spec.description,
    max_age: nanos(spec.maxAgeMs),
    storage: storageType(spec.storage),
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: 1,
  };
}

/** What provisioning did to one stream. */
export interface ProvisionResult {
  /** Stream name. */
  stream: string;
  /** `created`, `updated` (history or TTL corrected) or `unchanged`. */
  action: "created" | "updated" | "unchanged";
}

/**
 * Create every bucket and stream that is missing and correct the history, TTL and subjects of
 * those that drifted; leave the rest alone. Safe to run at every master start, by every master.
 * Storage type cannot change in place; a mismatch there is an error naming the stream.
 */
export async function provisionStorage(jsm: JetStreamManager): Promise<ProvisionResult[]> {
  const wanted = [
    ...Object.values(BUCKETS).map(bucketStreamConfig),
    ...Object.values(STREAMS).map(streamConfig),
  ];
  const results: ProvisionResult[] = [];
  for (const cfg of wanted) {
    results.push({ stream: cfg.name, action: await ensureStream(jsm, cfg) });
  }
  return results;
}

async function ensureStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
): Promise<ProvisionResult["action"]> {
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(cfg.name)).config;
  } catch (e) {
    if (!isJsError(e, JS_ERRORS.streamNotFound)) throw e;
    try {
      await jsm.streams.add(cfg);
      return "created";
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
  const drift =
    (["max_msgs_per_subject", "max_age"] as const).some((k) =>
      cfg[k] !== undefined && current[k] !== cfg[k]
    ) || JSON.stringify(current.subjects) !== JSON.stringify(cfg.subjects);
  if (!drift) return "unchanged";
  await jsm.streams.update(cfg.name, { ...current, ...pick(cfg) });
  return "updated";
}

function pick(cfg: Partial<StreamConfig>): Partial<StreamConfig> {
  const out: Partial<StreamConfig> = { subjects: cfg.subjects };
  if (cfg.max_msgs_per_subject !== undefined) out.max_msgs_per_subject = cfg.max_msgs_per_subject;
  if (cfg.max_age !== undefined) out.max_age = cfg.max_age;
  return out;
}
