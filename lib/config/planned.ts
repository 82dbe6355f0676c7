/**
 * Keys of the product's configuration reference whose feature is not built yet. A daemon
 * accepts them (validated, so a typo in a value is still caught) and logs a warning naming the
 * key and the feature it waits for, instead of refusing to start. When a feature lands, its keys
 * move from here into the daemon's schema (a test fails while a key is in both).
 * @module
 */
import * as s from "../schema/mod.ts";
import { duration } from "./nats.ts";

/** A documented key the daemons accept but do not use yet. */
export interface PlannedKey {
  /** Which daemon's config has it. */
  readonly daemon: "master" | "peel";
  /** Dotted key (`reactor.workers`). */
  readonly key: string;
  /** Its value's shape. */
  readonly schema: s.Schema<unknown>;
  /** The documented default, as written in the docs. */
  readonly default: string;
  /** What it will do. */
  readonly meaning: string;
  /** The feature it waits for. */
  readonly waitsFor: string;
  /** The documented flag when it is not the key's own (`--api-docs`), or null for none. */
  readonly flag?: string | null;
}

const path = s.string({ pattern: /^\//, expected: "an absolute path" });
const url = s.string({ pattern: /^https?:\/\/\S+$/, expected: "an http(s) URL" });

const API = "the REST API";
const GITFS = "GitFS";
const REACTOR = "the reactor";

/** Every planned key, per daemon. */
export const PLANNED_KEYS: readonly PlannedKey[] = [
  {
    daemon: "master",
    key: "api.docs_enabled",
    flag: "--api-docs",
    schema: s.boolean(),
    default: "false",
    meaning: "Serve the API's OpenAPI spec and Swagger UI without auth",
    waitsFor: API,
  },
  {
    daemon: "master",
    key: "api.tokens",
    flag: null,
    schema: s.array(
      s.object({ username: s.string({ minLength: 1 }), token_file: path }),
    ),
    default: "[]",
    meaning: "API users and their token files; protected endpoints exist only with tokens",
    waitsFor: API,
  },
  {
    daemon: "master",
    key: "gitfs.remotes",
    schema: s.array(s.string({ minLength: 1 })),
    default: "[]",
    meaning: "Git repositories the state tree is pulled from",
    waitsFor: GITFS,
  },
  {
    daemon: "master",
    key: "gitfs.interval",
    schema: duration(),
    default: "2m",
    meaning: "How often the remotes are pulled",
    waitsFor: GITFS,
  },
  {
    daemon: "master",
    key: "gitfs.ssh_key",
    schema: path,
    default: "",
    meaning: "SSH deploy key for the remotes",
    waitsFor: GITFS,
  },
  {
    daemon: "master",
    key: "reactor.enabled",
    flag: "--reactor",
    schema: s.boolean(),
    default: "true",
    meaning: "Run reactor rules on events",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.dir",
    schema: path,
    default: "/srv/zester/reactor",
    meaning: "Directory of reactor rules (top.zy and reaction files)",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.workers",
    schema: s.int({ min: 1 }),
    default: "4",
    meaning: "Reactions run at once",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.max_chain_depth",
    schema: s.int({ min: 0 }),
    default: "3",
    meaning: "How deep reactions may trigger reactions",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.enable_chaining",
    schema: s.boolean(),
    default: "true",
    meaning: "Whether events sent by reactions trigger rules",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.default_throttle",
    schema: duration(),
    default: "0",
    meaning: "Least time between two fires of a rule, unless the rule says",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.source_rate_limit",
    schema: s.int({ min: 0 }),
    default: "120 (events a minute per origin, burst 30)",
    meaning: "Events a minute one origin may trigger",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.max_event_age",
    schema: duration(),
    default: "1h (0: replay all)",
    meaning: "Older events are skipped when the reactor catches up",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.storm_rate",
    schema: s.int({ min: 1 }),
    default: "60",
    meaning: "Fires a minute of one rule that open its circuit breaker",
    waitsFor: REACTOR,
  },
  {
    daemon: "master",
    key: "reactor.breaker_cooldown",
    schema: duration(),
    default: "5m",
    meaning: "How long an open breaker stays open",
    waitsFor: REACTOR,
  },
  {
    daemon: "peel",
    key: "master_urls",
    schema: s.array(url),
    default: "[]",
    meaning: "Enrollment API URLs in failover order; over master_url",
    waitsFor: "enrollment failover across masters (today: master_url, one URL)",
  },
  {
    daemon: "peel",
    key: "enroll_ca",
    schema: path,
    default: "",
    meaning: "CA of the enrollment API's certificate",
    waitsFor: "an enrollment CA apart from nats_ca (today nats_ca is used)",
  },
  {
    daemon: "peel",
    key: "states_cache",
    schema: path,
    default: "data_dir/states-cache",
    meaning: "Where the peel mirrors the state tree (today always data_dir/states-cache)",
    waitsFor: "a state cache outside data_dir",
  },
];

/** The planned keys of one daemon. */
export function plannedKeys(daemon: PlannedKey["daemon"]): PlannedKey[] {
  return PLANNED_KEYS.filter((k) => k.daemon === daemon);
}
