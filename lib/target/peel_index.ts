/**
 * An in-memory index of peels for target resolution at fleet scale: ids kept sorted for prefix
 * lookups (binary search gives a glob's literal prefix range in O(log n)), and inverted indexes
 * over fact values (`os:family` → `debian` → ids; a path is looked up under Salt's grain names
 * too, `os_family` → `debian`), built per fact path the first time a target asks for that path
 * and kept current on every update after. Only asked-for paths cost memory;
 * a fleet's facts have hundreds of paths (package versions, pids) that no target names.
 *
 * A path's values answer a matcher exactly, except for the ids it marks unsure (lists on the way,
 * empty values), which the compiled matcher then tests; the property tests compare every answer
 * with a full scan. Facts are held packed (`packed_peel.ts`).
 * @module
 */
import { COMPUTED_GRAINS, grainFacts } from "../grains/mod.ts";
import { Arena } from "./arena.ts";
import type { PeelView } from "./peel_view.ts";
import { grainsOf, stringForm } from "./fact_match.ts";
import { pack, PackedPeel, unpack, unpackKeys } from "./packed_peel.ts";

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Value recorded for an empty map or list, so that `G@path:*` still finds it. */
const EMPTY = "\u0000empty";
/** Most fact paths indexed at once; the least recently built is dropped past this. */
const MAX_PATHS = 512;

type Ids = string | Set<string>;

/** A peel's values at one fact path, and whether a matcher may read them differently. */
interface Found {
  values: Set<string>;
  /**
   * Set when the values are a superset of what a matcher sees: a list on the way (the matcher
   * follows only its first map holding the key), an empty map or list, a list-valued `name`.
   */
  unsure: boolean;
}

/**
 * Every value a `G@path:value` could match at `segs` in `node`, lowercased: scalars by their
 * string form; a list's elements (and, for maps in a list, what they hold, as Salt looks keys
 * up in lists of maps); a map's keys and its scalar `name` (see `fact_match.ts`).
 */
function collect(node: unknown, segs: readonly string[], i: number, out: Found): void {
  if (i === segs.length) {
    if (Array.isArray(node)) {
      if (node.length === 0) empty(out);
      for (const x of node) {
        if (isMap(x) || Array.isArray(x)) collect(x, segs, i, out);
        else out.values.add(stringForm(x).toLowerCase());
      }
    } else if (isMap(node)) {
      const keys = Object.keys(node);
      if (keys.length === 0) empty(out);
      for (const k of keys) out.values.add(k.toLowerCase());
      const name = node.name;
      if (Array.isArray(name)) out.unsure = true;
      else if (name !== undefined && !isMap(name)) out.values.add(stringForm(name).toLowerCase());
    } else {
      out.values.add(stringForm(node).toLowerCase());
    }
    return;
  }
  const seg = segs[i]!;
  if (isMap(node)) {
    if (Object.hasOwn(node, seg)) collect(node[seg], segs, i + 1, out);
  } else if (Array.isArray(node)) {
    out.unsure = true;
    if (/^\d+$/.test(seg) && Number(seg) < node.length) {
      collect(node[Number(seg)], segs, i + 1, out);
    }
    for (const x of node) if (isMap(x) || Array.isArray(x)) collect(x, segs, i, out);
  }
}

function empty(out: Found): void {
  out.values.add(EMPTY);
  out.unsure = true;
}

/** One fact path's index. */
interface PathIndex {
  /** Lowercased value → ids (a lone id is kept as the string, not a Set). */
  values: Map<string, Ids>;
  /** Ids whose values here are unsure (see {@linkcode Found}). */
  unsure: Set<string>;
}

/** Peels, their facts and the indexes over them. */
export class PeelIndex {
  /** Where packed facts and settings are held. */
  #arena = new Arena();
  /** Id → packed facts. */
  readonly #facts = new Map<string, Uint8Array>();
  /** Id → packed settings, for the peels that sent some. */
  readonly #settings = new Map<string, Uint8Array>();
  /** Sorted ids. */
  #sorted: string[] = [];
  /** Fact path → its index. */
  readonly #paths = new Map<string, PathIndex>();

  /** Number of peels. */
  get size(): number {
    return this.#facts.size;
  }

  /** True when peel `id` is known. */
  has(id: string): boolean {
    return this.#facts.has(id);
  }

  /** One peel. */
  get(id: string): PeelView | undefined {
    const facts = this.#facts.get(id);
    return facts && new PackedPeel(id, facts, this.#settings.get(id));
  }

  /** Every peel. */
  *peels(): IterableIterator<PeelView> {
    for (const [id, facts] of this.#facts) yield new PackedPeel(id, facts, this.#settings.get(id));
  }

  /** Fact paths indexed so far. */
  get indexedPaths(): number {
    return this.#paths.size;
  }

  /** Add or replace a peel. */
  set(id: string, facts: Record<string, unknown>, settings?: Record<string, unknown>): void {
    const packed = this.#facts.get(id);
    const old = packed && this.#paths.size ? unpack(packed) : undefined;
    if (packed) this.#release(id, packed);
    else this.#sorted.splice(this.#lowerBound(id), 0, id);
    this.#facts.set(id, this.#arena.store(pack(facts)));
    if (settings) this.#settings.set(id, this.#arena.store(pack(settings)));
    for (const [path, ix] of this.#paths) {
      const segs = path.split(":");
      if (old) forget(ix, this.#at(old, segs), id);
      record(ix, this.#at(facts, segs), id);
    }
  }

  /** Remove a peel. */
  delete(id: string): void {
    const packed = this.#facts.get(id);
    if (!packed) return;
    if (this.#paths.size) {
      const old = unpack(packed);
      for (const [path, ix] of this.#paths) forget(ix, this.#at(old, path.split(":")), id);
    }
    this.#release(id, packed);
    this.#facts.delete(id);
    const i = this.#lowerBound(id);
    if (this.#sorted[i] === id) this.#sorted.splice(i, 1);
  }

  /** Every id, sorted (the index's own array: read, never change). */
  get ids(): readonly string[] {
    return this.#sorted;
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

  /** Lowercased values at fact `path` (keys joined with `:`), indexing the path if new. */
  valuesAt(path: string): IterableIterator<string> {
    return this.#index(path).values.keys();
  }

  /** Ids whose fact `path` has the lowercased `value`. */
  idsWith(path: string, value: string): Iterable<string> {
    const ids = this.#index(path).values.get(value);
    return ids === undefined ? [] : typeof ids === "string" ? [ids] : ids;
  }

  /** Ids that have fact `path`. */
  having(path: string): Set<string> {
    const out = new Set<string>();
    for (const ids of this.#index(path).values.values()) {
      if (typeof ids === "string") out.add(ids);
      else for (const id of ids) out.add(id);
    }
    return out;
  }

  /**
   * Ids whose values at fact `path` a matcher may read differently than the index (lists on the
   * way, empty maps and lists): the index's answer for them is a candidate to test, for the rest
   * it is exact.
   */
  unsure(path: string): ReadonlySet<string> {
    return this.#index(path).unsure;
  }

  /** Release peel `id`'s packed facts and settings; copy the arena's live bytes if it is mostly waste. */
  #release(id: string, facts: Uint8Array): void {
    this.#arena.release(facts);
    const settings = this.#settings.get(id);
    if (settings) this.#arena.release(settings);
    this.#settings.delete(id);
    if (!this.#arena.wasteful) return;
    const arena = new Arena();
    for (const map of [this.#facts, this.#settings]) {
      for (const [k, bytes] of map) if (k !== id) map.set(k, arena.store(bytes));
    }
    this.#arena = arena;
  }

  #at(facts: Record<string, unknown>, segs: readonly string[]): Found {
    const out: Found = { values: new Set(), unsure: false };
    collect(facts, segs, 0, out);
    if (COMPUTED_GRAINS.has(segs[0]!)) collect(grainsOf(facts), segs, 0, out);
    return out;
  }

  #index(path: string): PathIndex {
    let ix = this.#paths.get(path);
    if (ix) return ix;
    ix = { values: new Map(), unsure: new Set() };
    const segs = path.split(":");
    for (const [id, packed] of this.#facts) {
      const facts = unpackKeys(packed, grainFacts(segs[0]!));
      record(ix, this.#at(facts, segs), id);
    }
    if (this.#paths.size >= MAX_PATHS) {
      this.#paths.delete(this.#paths.keys().next().value!);
    }
    this.#paths.set(path, ix);
    return ix;
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
}

function record(ix: PathIndex, found: Found, id: string): void {
  for (const v of found.values) add(ix.values, v, id);
  if (found.unsure) ix.unsure.add(id);
}

function forget(ix: PathIndex, found: Found, id: string): void {
  for (const v of found.values) remove(ix.values, v, id);
  ix.unsure.delete(id);
}

function add(vals: Map<string, Ids>, value: string, id: string): void {
  const ids = vals.get(value);
  if (ids === undefined) vals.set(value, id);
  else if (typeof ids === "string") {
    if (ids !== id) vals.set(value, new Set([ids, id]));
  } else ids.add(id);
}

function remove(vals: Map<string, Ids>, value: string, id: string): void {
  const ids = vals.get(value);
  if (ids === id) vals.delete(value);
  else if (ids instanceof Set) {
    ids.delete(id);
    if (ids.size === 1) vals.set(value, ids.values().next().value!);
  }
}
