/**
 * `master.yaml`: where the master finds NATS, its instance id, and job defaults.
 * @module
 */
import * as s from "../schema/mod.ts";
import { duration, logKeys, natsKeys } from "./nats.ts";

/** Default path of the master's config file. */
export const MASTER_CONFIG_PATH = "/etc/zester/master.yaml";

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
  job_timeout: s.optional(duration(), 60_000),
  heartbeat_interval: s.optional(duration(), 5_000),
  /** Named groups of peels for `N@`: a compound expression, or a list of tokens or ids. */
  nodegroups: s.optional(
    s.record(s.union(s.string({ minLength: 1 }), s.array(s.string({ minLength: 1 })))),
    {},
  ),
});
/** A validated master config. */
export type MasterConfig = s.Infer<typeof MasterConfig>;
