/**
 * `peel.yaml`: the peel's id, NATS, its data dir (the only place it may write), facts and the
 * broker that runs privileged operations for it.
 * @module
 */
import * as s from "../schema/mod.ts";
import { PEEL_ID_PATTERN } from "../bus/subjects.ts";
import { duration, logKeys, natsKeys } from "./nats.ts";

/** Default path of the peel's config file. */
export const PEEL_CONFIG_PATH = "/etc/zester/peel.yaml";

/** Validator for `peel.yaml`. Unknown keys are errors. */
export const PeelConfig = s.object({
  id: s.string({
    pattern: PEEL_ID_PATTERN,
    expected: "a peel id: a letter or digit, then letters, digits, _ or -, at most 128 characters",
  }),
  ...natsKeys,
  ...logKeys,
  data_dir: s.optional(s.string(), "/var/lib/zester/peel"),
  facts_file: s.optional(s.string(), "/etc/zester/facts"),
  facts_interval: s.optional(duration(), 300_000),
  broker: s.optional(
    s.object({
      launcher: s.optional(s.string(), "/usr/lib/zester/zester-broker"),
      idle_timeout: s.optional(duration(), 30_000),
    }),
    { launcher: "/usr/lib/zester/zester-broker", idle_timeout: 30_000 },
  ),
});
/** A validated peel config. */
export type PeelConfig = s.Infer<typeof PeelConfig>;
