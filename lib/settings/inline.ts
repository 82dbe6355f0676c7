/**
 * Inline settings on a state run (Salt's `pillar='{"app": {"port": 7777}}'`, or `settings=`),
 * deep-merged over the peel's settings.
 * @module
 */
import { isPlainObject } from "../schema/mod.ts";
import { saltMerge } from "../template/mod.ts";

/**
 * The inline settings in `kwargs` (`pillar=` and `settings=`, the latter merged over the
 * former), or undefined when there are none. Throws `TypeError` naming the argument when one is
 * not a mapping.
 */
export function inlineSettings(
  kwargs: Readonly<Record<string, unknown>>,
): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const name of ["pillar", "settings"]) {
    const v = kwargs[name];
    if (v === undefined || v === null) continue;
    if (!isPlainObject(v)) {
      throw new TypeError(
        `Invalid argument "${name}": settings data must be a mapping such as '{"app": {"port": 80}}', got ${
          JSON.stringify(v)
        }`,
      );
    }
    out = saltMerge(out ?? {}, v) as Record<string, unknown>;
  }
  return out;
}
