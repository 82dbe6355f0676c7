/**
 * What the index can tell of an expression without reading facts: which ids match for certain,
 * which must be tested, and which cannot match. Compound expressions combine these as set
 * operations, so only the ids the index cannot decide are tested, each costing a decode.
 * @module
 */

/**
 * Without `negated`, ids in `sure` match, ids in `maybe` must be tested, no other id matches.
 * With it, the reverse: ids in `sure` do not match, `maybe` must be tested, every other id matches.
 */
export interface Selection {
  readonly negated: boolean;
  readonly sure: ReadonlySet<string>;
  readonly maybe: ReadonlySet<string>;
}

/** The ids in `sure` and `maybe`, known to the index. */
export function selection(
  sure: ReadonlySet<string>,
  maybe: ReadonlySet<string> = new Set(),
): Selection {
  return { negated: false, sure, maybe };
}

/** The ids `s` does not select. */
export function negate(s: Selection): Selection {
  return { negated: !s.negated, sure: s.sure, maybe: s.maybe };
}

/** The ids both `a` and `b` select. */
export function intersect(a: Selection, b: Selection): Selection {
  if (a.negated && b.negated) return negate(unite(negate(a), negate(b)));
  if (a.negated || (!b.negated && a.sure.size + a.maybe.size > b.sure.size + b.maybe.size)) {
    [a, b] = [b, a];
  }
  const sure = new Set<string>();
  const maybe = new Set<string>();
  for (const id of a.sure) {
    if (b.maybe.has(id)) maybe.add(id);
    else if (b.sure.has(id) !== b.negated) sure.add(id);
  }
  for (const id of a.maybe) {
    if (b.maybe.has(id) || b.sure.has(id) !== b.negated) maybe.add(id);
  }
  return { negated: false, sure, maybe };
}

/** The ids `a` or `b` selects. */
export function unite(a: Selection, b: Selection): Selection {
  if (a.negated || b.negated) return negate(intersect(negate(a), negate(b)));
  const sure = new Set(a.sure);
  for (const id of b.sure) sure.add(id);
  const maybe = new Set<string>();
  for (const ids of [a.maybe, b.maybe]) for (const id of ids) if (!sure.has(id)) maybe.add(id);
  return { negated: false, sure, maybe };
}
