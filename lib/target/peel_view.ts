/**
 * What a target matcher sees of a peel: shared by the compiled targets, the fact matchers and
 * the index that keeps peels packed.
 * @module
 */

/** What a matcher sees of a peel. */
export interface PeelView {
  /** The peel id. */
  id: string;
  /** The peel's facts (grains). */
  facts: Record<string, unknown>;
  /** The peel's settings (pillar), where known. */
  settings?: Record<string, unknown>;
  /** Its facts under the top-level `keys` only, where reading fewer costs less. */
  factsAt?(keys: readonly string[]): Record<string, unknown>;
}
