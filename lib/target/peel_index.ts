/**
 * An in-memory index of peels for target resolution at fleet scale: ids kept sorted for prefix
 * lookups (binary search gives a glob's literal prefix range in O(log n)), and inverted indexes
 * over flattened fact values (`os:family` → `debian` → ids), so common expressions resolve
 * without testing every peel. Lookups return candidates, a superset that the compiled matcher
 * then filters, so the index can only make resolution faster, never different.
 * @module
 */
import type { PeelView } from "./compile.ts";
import { stringForm } from "./fact_match.ts";

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** How deep fact maps are indexed; deeper values are found by scanning. */
const MAX_DEPTH = 8;

/** Peels, their facts and the indexes over them. */
export class PeelIndex {
  readonly #peels = new Map<string, PeelView>();
  /** Sorted ids. */
  #sorted: string[] = [];
  /** Fact path → lowercased value → ids. */
  readonly #values = new Map<string, Map<string, Set<string>>>();
  /** Fact path → ids that have it. */
  readonly #exists = new Map<string, Set<string>>();
  /** Per peel, the (path, value) pairs it was indexed under, to undo them. */
  readonly #entries = new Map<string, [string, string | undefined][]>();

  /** Number of peels. */
  get size(): number {
    return this.#peels.size;
  }

  /** One peel. */
  get(id: string): PeelView | undefined {
    return this.#peels.get(id);
  }

  /** Every peel. */
  peels(): IterableIterator<PeelView> {
    return this.#peels.values();
  }

  /** Add or replace a peel. */
  set(id: string, facts: Record<string, unknown>, settings?: Record<string, unknown>): void {
    if (this.#peels.has(id)) this.#unindex(id);
    else this.#insertSorted(id);
    this.#peels.set(id, { id, facts, settings });
    const entries: [string, string | undefined][] = [];
    this.#walk(facts, "", 0, (path, value) => entries.push([path, value]));
    for (const [path, value] of entries) {
      let ex = this.#exists.get(path);
      if (!ex) this.#exists.set(path, ex = new Set());
      ex.add(id);
      if (value === undefined) continue;
      let vals = this.#values.get(path);
      if (!vals) this.#values.set(path, vals = new Map());
      let ids = vals.get(value);
      if (!ids) vals.set(value, ids = new Set());
      ids.add(id);
    }
    this.#entries.set(id, entries);
  }

  /** Remove a peel. */
  delete(id: string): void {
    if (!this.#peels.has(id)) return;
    this.#unindex(id);
    this.#peels.delete(id);
    const i = this.#lowerBound(id);
    if (this.#sorted[i] === id) this.#sorted.splice(i, 1);
  }

  /** Ids starting with `prefix`, in order. */
  idsWithPrefix(prefix: string): string[] {
    const out: string[] = [];
    for (let i = this.#lowerBound(prefix); i < this.#sorted.length; i++) {
      const id = this.#sorted[i]!;
      if (!id.startsWith(prefix)) break;
      out.push(id);
    }
    return out;
  }

  /** Lowercased values indexed at fact `path` (keys joined with `:`), with their ids. */
  values(path: string): ReadonlyMap<string, ReadonlySet<string>> | undefined {
    return this.#values.get(path);
  }

  /** Ids that have fact `path`. */
  having(path: string): ReadonlySet<string> | undefined {
    return this.#exists.get(path);
  }

  /**
   * Record every path of `v` and what a `G@path:value` could match there: scalars by their
   * lowercased string form, list elements at the list's path, and for a map its keys and its
   * `name` (see `fact_match.ts`). Lists of maps are indexed at the list's path too, as Salt
   * looks keys up in them; numeric indexes at `path:i`.
   */
  #walk(v: unknown, path: string, depth: number, add: (p: string, v?: string) => void): void {
    if (depth > MAX_DEPTH) return;
    if (path) add(path);
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        if (isMap(item) || Array.isArray(item)) {
          this.#walk(item, path, depth + 1, add);
          this.#walk(item, `${path}:${i}`, depth + 1, add);
        } else {
          add(path, stringForm(item).toLowerCase());
          add(`${path}:${i}`, stringForm(item).toLowerCase());
        }
      });
      return;
    }
    if (isMap(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (path) add(path, k.toLowerCase());
        if (path && k === "name" && !isMap(x) && !Array.isArray(x)) {
          add(path, stringForm(x).toLowerCase());
        }
        this.#walk(x, path ? `${path}:${k}` : k, depth + 1, add);
      }
      return;
    }
    if (path) add(path, stringForm(v).toLowerCase());
  }

  #unindex(id: string): void {
    for (const [path, value] of this.#entries.get(id) ?? []) {
      const ex = this.#exists.get(path);
      ex?.delete(id);
      if (ex?.size === 0) this.#exists.delete(path);
      if (value === undefined) continue;
      const vals = this.#values.get(path);
      const ids = vals?.get(value);
      ids?.delete(id);
      if (ids?.size === 0) vals!.delete(value);
      if (vals?.size === 0) this.#values.delete(path);
    }
    this.#entries.delete(id);
  }

  #lowerBound(s: string): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#sorted[mid]! < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #insertSorted(id: string): void {
    this.#sorted.splice(this.#lowerBound(id), 0, id);
  }
}
