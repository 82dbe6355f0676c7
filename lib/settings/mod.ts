/**
 * Settings (Salt's pillar): per-peel data compiled from a settings tree with its top file,
 * rendered where it is used (on the peel, or by `call --local`); what the master reads of the
 * top file to seal each peel its secrets; and the merge options published with the tree.
 * @module
 */
export { compileSettings, type SettingsOptions } from "./compile.ts";
export { MERGING_STRATEGIES, SETTINGS_CONFIG_KEY, SettingsConfig } from "./config.ts";
export { SettingsError } from "./error.ts";
export { inlineSettings } from "./inline.ts";
export { SettingsTop, TOP_FILES } from "./top.ts";
