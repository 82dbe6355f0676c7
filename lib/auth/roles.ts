/**
 * What each kind of NATS user may publish and subscribe to, enforced by nats-server from the
 * permissions in the user's JWT. Everything not listed is refused. A user's inbox prefix
 * (`_INBOX_<user key>`, which `connectBus` sets from the creds) is its own: no other user can
 * read its replies.
 *
 * JetStream reads are granted per bucket as the JetStream API subjects nats.js uses for them:
 * direct gets (`$JS.API.DIRECT.GET.<stream>.<subject>` names the key in the subject, so a grant
 * can name one key) and ordered consumers (`$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`,
 * whose filter the server checks against the request, so a grant can name one key too).
 * @module
 */
import { BUCKETS, bucketStream as stream, STREAMS } from "../bus/storage.ts";
import { inboxPrefix, JOB_RETURNS_BUCKET, subjects } from "../bus/subjects.ts";
import { MASTER_PUBLIC_KEY_ID } from "../secrets/peel_secrets.ts";
import type { ResponsePermission, SubjectPermission } from "./jwt.ts";

/** The kinds of users a deployment has. */
export const ROLES = ["master", "admin", "reader", "peel", "backup", "restore"] as const;
/** One of {@linkcode ROLES}. */
export type Role = typeof ROLES[number];

/** The permission claims of a user JWT. */
export interface RoleClaims {
  pub: SubjectPermission;
  sub: SubjectPermission;
  resp?: ResponsePermission;
}

/** Answer each request received once, within the server's default time. */
const ONE_REPLY: ResponsePermission = { max: 1, ttl: 0 };
/**
 * A master answers a target preview in parts (4,096 ids each, then an empty sentinel), so that a
 * 100,000-peel answer fits the server's payload limit: up to 1,024 replies to one request.
 */
const REPLY_PARTS: ResponsePermission = { max: 1024, ttl: 0 };

/** Read every key of `bucket`: get, list, watch. */
function readBucket(bucket: string): string[] {
  return [
    `$JS.API.DIRECT.GET.${stream(bucket)}.$KV.${bucket}.>`,
    `$JS.API.CONSUMER.CREATE.${stream(bucket)}`,
    `$JS.API.CONSUMER.CREATE.${stream(bucket)}.*.$KV.${bucket}.>`,
  ];
}

/** Read and watch the one key `key` of `bucket` (and keys under it). */
function readKey(bucket: string, key: string): string[] {
  return [`$KV.${bucket}.${key}`, `$KV.${bucket}.${key}.>`].flatMap((subject) => [
    `$JS.API.DIRECT.GET.${stream(bucket)}.${subject}`,
    `$JS.API.CONSUMER.CREATE.${stream(bucket)}.*.${subject}`,
  ]);
}

/**
 * A peel: its own command subject; its own returns, facts, schedule reports, basket entries and
 * events; reads of
 * `state-files`, `settings-files`, `basket`, its own `secrets` key and the master's public key
 * there; target previews, which `mine.get` with a fact-based `tgt_type` needs, as Salt's minions
 * get them from their master. Nothing of other peels, no `jobs`, no dispatch, no writes to the
 * trees the master publishes.
 */
function peel(id: string, inbox: string): RoleClaims {
  return {
    pub: {
      allow: [
        `$KV.${JOB_RETURNS_BUCKET}.*.${id}`,
        subjects.fact(id),
        subjects.scheduleReport(id),
        `$KV.${BUCKETS.basket.name}.${id}.>`,
        `zester.event.${id}.>`,
        subjects.targetResolve,
        ...readBucket(BUCKETS.stateFiles.name),
        ...readBucket(BUCKETS.settingsFiles.name),
        ...readBucket(BUCKETS.basket.name),
        ...readKey(BUCKETS.secrets.name, id),
        ...readKey(BUCKETS.secrets.name, MASTER_PUBLIC_KEY_ID),
        `$JS.FC.${stream(BUCKETS.stateFiles.name)}.>`,
        `$JS.FC.${stream(BUCKETS.settingsFiles.name)}.>`,
        `$JS.FC.${stream(BUCKETS.basket.name)}.>`,
        `$JS.FC.${stream(BUCKETS.secrets.name)}.>`,
      ],
    },
    sub: { allow: [subjects.cmd(id), subjects.jobCancelAll, `${inbox}.>`] },
    resp: ONE_REPLY,
  };
}

/**
 * A master: storage administration (the JetStream API), the buckets it writes, ExecRequests to
 * every peel, job events; it serves dispatch, target resolution, fact ingestion and the
 * enrollment admin requests. It does
 * not write `job-returns`: only peels do.
 */
function master(inbox: string): RoleClaims {
  const writes = [
    BUCKETS.facts,
    BUCKETS.jobs,
    BUCKETS.masterHeartbeat,
    BUCKETS.stateFiles,
    BUCKETS.settingsFiles,
    BUCKETS.secrets,
    BUCKETS.enrollments,
    BUCKETS.enrollChallenges,
  ].map((b) => `$KV.${b.name}.>`);
  return {
    pub: { allow: ["$JS.API.>", "$JS.FC.>", ...writes, subjects.cmdAll, subjects.jobAll] },
    sub: {
      allow: [
        subjects.dispatch,
        subjects.targetResolve,
        subjects.factAll,
        subjects.scheduleReportAll,
        subjects.jobCancelAll,
        subjects.jobsFind,
        subjects.jobsKill,
        subjects.adminEnrollAll,
        // An adopted job's returns, seen on their way into the bucket.
        subjects.jobReturnAll,
        `${inbox}.>`,
      ],
    },
    resp: REPLY_PARTS,
  };
}

/**
 * What an auditor or dashboard reads: jobs, returns, facts, master heartbeats, the basket,
 * target previews, the master's public key (for `zester settings encrypt`); never a dispatch.
 */
function reader(inbox: string): RoleClaims {
  const buckets = [
    BUCKETS.jobs,
    BUCKETS.jobReturns,
    BUCKETS.facts,
    BUCKETS.masterHeartbeat,
    BUCKETS.basket,
  ];
  const reads = [
    ...buckets.flatMap((b) => readBucket(b.name)),
    ...readKey(BUCKETS.secrets.name, MASTER_PUBLIC_KEY_ID),
  ];
  const fc = buckets.map((b) => `$JS.FC.${stream(b.name)}.>`);
  return {
    pub: { allow: [subjects.targetResolve, subjects.jobsFind, ...reads, ...fc] },
    sub: { allow: [subjects.jobAll, subjects.jobReturnAll, `${inbox}.>`] },
  };
}

/** The operator's CLI: what a reader may, dispatching and killing jobs, and managing enrollments. */
function admin(inbox: string): RoleClaims {
  const r = reader(inbox);
  return {
    ...r,
    pub: {
      allow: [subjects.dispatch, subjects.jobsKill, subjects.adminEnrollAll, ...r.pub.allow!],
    },
  };
}

/** Every stream Zester keeps: each bucket's `KV_<name>`, and the plain streams. */
const ALL_STREAMS = [
  ...Object.values(BUCKETS).map((b) => stream(b.name)),
  ...Object.values(STREAMS).map((st) => st.name),
];

/**
 * `zester backup create`: read every message of every stream, in order, with ordered
 * consumers; nothing else — no writes, no dispatch, no stream changes. It reads all there is:
 * facts, job returns (command output), enrollment records, and sealed secrets (ciphertexts only
 * each peel can open). Wildcards where the subject list would otherwise not fit the server's
 * limit on a CONNECT line (every stream of the account is Zester's).
 */
function backup(inbox: string): RoleClaims {
  return {
    pub: {
      allow: [
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*",
        ...ALL_STREAMS.flatMap((s) => [
          `$JS.API.CONSUMER.CREATE.${s}`,
          `$JS.API.CONSUMER.CREATE.${s}.>`,
        ]),
        "$JS.API.CONSUMER.MSG.NEXT.*.*",
        "$JS.FC.>",
      ],
    },
    sub: { allow: [`${inbox}.>`] },
  };
}

/**
 * `zester backup restore`: create, update and purge streams, and publish into every bucket and
 * stream — job records and returns, facts, enrollments, and the state and settings trees peels
 * apply. That is the master's power over the store and more (it writes returns and the basket,
 * which only peels do), so its creds are for restores only, kept offline.
 */
function restore(inbox: string): RoleClaims {
  return {
    pub: {
      allow: [
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*",
        "$JS.API.STREAM.CREATE.*",
        "$JS.API.STREAM.UPDATE.*",
        "$JS.API.STREAM.PURGE.*",
        "$KV.>",
        ...Object.values(STREAMS).flatMap((st) => st.subjects),
      ],
    },
    sub: { allow: [`${inbox}.>`] },
  };
}

/** The permission claims of a user with `role`, named `name` (a peel's id), key `userKey`. */
export function roleClaims(role: Role, name: string, userKey: string): RoleClaims {
  const inbox = inboxPrefix(userKey);
  switch (role) {
    case "peel":
      return peel(name, inbox);
    case "master":
      return master(inbox);
    case "admin":
      return admin(inbox);
    case "reader":
      return reader(inbox);
    case "backup":
      return backup(inbox);
    case "restore":
      return restore(inbox);
  }
}
