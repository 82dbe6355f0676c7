/**
 * Facts held compactly, for an index of every peel's facts: objects decoded from MessagePack
 * get their properties one keyed store at a time, and V8 turns a map of more than a dozen keys
 * (a peel's packages, services) into a hash table; the same document parsed from JSON gets
 * compact objects, about half the memory. Facts that JSON cannot carry unchanged (binary data,
 * dates, non-finite numbers) are kept as they are, so matching never sees a different value.
 * @module
 */

function jsonSafe(v: unknown): boolean {
  switch (typeof v) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(v);
    case "object": {
      if (v === null) return true;
      if (Array.isArray(v)) return v.every(jsonSafe);
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      return Object.values(v).every(jsonSafe);
    }
    default:
      return false;
  }
}

/** `facts` rebuilt in V8's compact object layout, or `facts` itself when JSON cannot carry them. */
export function compactFacts(facts: Record<string, unknown>): Record<string, unknown> {
  return jsonSafe(facts) ? JSON.parse(JSON.stringify(facts)) : facts;
}
