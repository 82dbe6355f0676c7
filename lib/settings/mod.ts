/**
 * Settings (Salt's pillar): per-peel data compiled from a settings tree with its top file,
 * rendered where it is used (on the peel, or by `call --local`), and the seams where secrets
 * join them.
 * @module
 */
export { compileSettings, type SettingsOptions, TOP_FILES } from "./compile.ts";
export { SettingsError } from "./error.ts";
export { inlineSettings } from "./inline.ts";
export { resolveSecrets, sanitizeSettingsFile, UnsupportedSecretError } from "./secrets.ts";
