/**
 * How a settings tree merges, as Salt's master options `pillar_source_merging_strategy` and
 * `pillar_merge_lists` say: the master sets them in `master.yaml` and publishes them with the
 * tree under {@linkcode SETTINGS_CONFIG_KEY}, so every peel compiles the tree the same way.
 * @module
 */
import * as s from "../schema/mod.ts";

/** The `settings-files` key of the merge options; a tree file of that name is not published. */
export const SETTINGS_CONFIG_KEY = "_config";

/** Salt's `pillar_source_merging_strategy` values (`smart` is `recurse` for YAML). */
export const MERGING_STRATEGIES = ["smart", "recurse", "aggregate", "overwrite", "none"] as const;

/** Validator of the published merge options. */
export const SettingsConfig = s.object({
  /** Salt's `pillar_source_merging_strategy`. */
  strategy: s.optional(s.literal(...MERGING_STRATEGIES), "smart"),
  /** Salt's `pillar_merge_lists`: lists are concatenated instead of replaced. */
  merge_lists: s.optional(s.boolean(), false),
});
/** The merge options of a settings tree. */
export type SettingsConfig = s.Infer<typeof SettingsConfig>;
