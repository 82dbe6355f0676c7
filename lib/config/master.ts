/**
 * `master.yaml`: where the master finds NATS, its instance id, and job defaults.
 * @module
 */
import * as s from "../schema/mod.ts";
import { listenAddrSchema } from "./listen.ts";
import { duration, logKeys, natsKeys } from "./nats.ts";
import { Retention } from "./retention.ts";
import { MERGING_STRATEGIES } from "../settings/config.ts";

/** Default path of the master's config file. */
export const MASTER_CONFIG_PATH = "/etc/zester/master.yaml";

/** Job timeouts of functions that take long, as Salt's and the product's CLI give them. */
export const DEFAULT_JOB_TIMEOUTS: Readonly<Record<string, number>> = {
  "state.apply": 5 * 60_000,
  "state.sls": 5 * 60_000,
  "state.highstate": 10 * 60_000,
};

/** How a new peel is approved: by an operator, by a bootstrap token it presents, or at once. */
export const ENROLL_POLICIES = ["manual", "auto-trusted", "auto-all"] as const;

/**
 * `enroll:` of `master.yaml`: the HTTPS listener of the enrollment API (TLS 1.3, a server
 * certificate from the deployment's CA), the approval policy, and the keys the master signs
 * with: the account signing key (peels' user JWTs), the operator signing key (the account JWT
 * carrying revocations) and the system account's creds (to push that JWT to the servers).
 */
export const EnrollmentSection = s.transform(
  s.object({
    addr: s.optional(listenAddrSchema(), "0.0.0.0:8443"),
    tls_cert: s.string(),
    tls_key: s.string(),
    policy: s.optional(s.literal(...ENROLL_POLICIES), "manual"),
    /** Peel id globs approved at once, whatever the policy. */
    auto_accept: s.optional(s.array(s.string({ minLength: 1 })), []),
    /** The token `auto-trusted` peels present; read at every request. */
    bootstrap_token_file: s.optional(s.string()),
    account_signing_key: s.string(),
    operator_signing_key: s.string(),
    system_creds: s.string(),
  }),
  (v, path) => {
    if (v.policy === "auto-trusted" && !v.bootstrap_token_file) {
      throw new s.SchemaError(
        `${path}.bootstrap_token_file`,
        "a token file for policy auto-trusted",
        undefined,
      );
    }
    return v;
  },
);
/** A validated `enroll:` section. */
export type EnrollmentSection = s.Infer<typeof EnrollmentSection>;

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
  /** How settings files merge, as Salt's `pillar_source_merging_strategy`; peels get it with the tree. */
  settings_merging_strategy: s.optional(s.literal(...MERGING_STRATEGIES), "smart"),
  /** Lists in settings are concatenated instead of replaced, as Salt's `pillar_merge_lists`. */
  settings_merge_lists: s.optional(s.boolean(), false),
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
  /** The enrollment API; without it, peels get creds only from the deployment's operator. */
  enroll: s.optional(EnrollmentSection),
});
/** A validated master config. */
export type MasterConfig = s.Infer<typeof MasterConfig>;
