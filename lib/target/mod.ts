/**
 * Target expressions: which peels a job runs on, with Salt's matchers and meaning.
 *
 * | form | matches |
 * | --- | --- |
 * | `web-*` | glob on the peel id (default; `*`, `?`, `[...]`, `[!...]`, case-sensitive) |
 * | `E@web-\d+` | regex on the id, anchored at the start (Python's `re.match`) |
 * | `L@web-01,db-01` | a list of ids |
 * | `G@os:family:debian` | fact glob (nested keys with `:` or `.`, any list element, case-insensitive) |
 * | `P@os:name:(debian\|ubuntu)` | fact regex, both sides lowercased as Salt does |
 * | `I@role:web` / `J@…` | settings (pillar) glob / regex |
 * | `S@10.0.0.0/8` | an address or network, against `network.ipv4`/`network.ipv6` |
 * | `N@group` | a nodegroup from `master.yaml` |
 * | `web-* and not G@role:db` | compound: `not` > `and` > `or`, parentheses |
 *
 * @example
 * ```ts
 * import { compileTarget } from "./mod.ts";
 * compileTarget("web-*").matches({ id: "web-01", facts: {} }); // true
 * ```
 * @module
 */
export { TargetError } from "./error.ts";
export { compileGlob, isLiteralGlob } from "./glob.ts";
export { hasLinearRegExp, LINEAR_REGEXP_V8_FLAG } from "./regex.ts";
export {
  type CompileOptions,
  compileTarget,
  detectKind,
  resolveTarget,
  scanTarget,
  type Target,
} from "./compile.ts";
export { PeelIndex } from "./peel_index.ts";
export type { PeelView } from "./peel_view.ts";
export type { Selection } from "./selection.ts";
export { inNetwork, parseAddress, parseNetwork } from "./ip.ts";
