/**
 * `master.yaml`: where the master finds NATS, its instance id, and job defaults.
 * @module
 */
import * as s from "../schema/mod.ts";
import { listenAddrSchema } from "./listen.ts";
import { duration, logKeys, natsKeys } from "./nats.ts";
import { Retention } from "./retention.ts";

/** Default path of the master's config file. */
export const MASTER_CONFIG_PATH = "/etc/zester/master.yaml";

/** Job timeouts of functions that take long, as Salt's and the product's CLI give them. */
export const DEFAULT_JOB_TIMEOUTS: Readonly<Record<string, number>> = {
  "state.apply": 5 * 60_000,
  "state.sls": 5 * 60_000,
  "state.highstate": 10 * 60_000,
};

/** Validator for `master.yaml`. Unknown keys are errors. */
export const MasterConfig = s.object({
  id: s.optional(s.string({
    pattern: /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}$/,
    expected: "a master id (letters, digits, _ and -)",
  })),
  ...natsKeys,
  ...logKeys,
  states_dir: s.optional(s.string(), "/srv/zester/states"),
  settings_dir: s.optional(s.string(), "/srv/zester/settings"),
  /**
   * The master's box key (0600, written by `zester init`): it opens `!encrypted` settings values
   * and seals them for each peel. Without it the master publishes no secrets.
   */
  box_key_file: s.optional(s.string()),
  /** Where `/healthz`, `/readyz` and `/metrics` are served; `off` serves nothing. */
  health_addr: s.optional(listenAddrSchema(), "127.0.0.1:9091"),
  /** A job's timeout when neither `job_timeouts` nor the request names one. */
  job_timeout: s.optional(duration(), 60_000),
  /** Timeouts by function, over {@linkcode DEFAULT_JOB_TIMEOUTS}. */
  job_timeouts: s.optional(s.record(duration()), {}),
  /** The longest timeout a request may ask for; longer requests get this. */
  max_job_timeout: s.optional(duration(), 6 * 3_600_000),
  /** How often the master beats in `master-heartbeat` and looks for masters that stopped. */
  heartbeat_interval: s.optional(duration(), 5_000),
  /** How many servers of a NATS cluster keep each bucket and stream (3 survives losing one). */
  storage_replicas: s.optional(s.int({ min: 1, max: 5 }), 1),
  /** Limits of buckets and streams by name, over the defaults; applied when one is created. */
  retention: s.optional(Retention, {}),
  /** A peel whose facts have not been refreshed for this long leaves the index. */
  peel_expiry: s.optional(duration(), 7 * 86_400_000),
  /** Named groups of peels for `N@`: a compound expression, or a list of tokens or ids. */
  nodegroups: s.optional(
    s.record(s.union(s.string({ minLength: 1 }), s.array(s.string({ minLength: 1 })))),
    {},
  ),
});
/** A validated master config. */
export type MasterConfig = s.Infer<typeof MasterConfig>;
