/**
 * Planning: every requisite resolved to the states it names (a missing one is an error naming
 * both states), then a DAG ordered in levels with Kahn's algorithm. Within a level, `order`
 * decides (`first`, numbers, unordered, `last`), then declaration order. A cycle is an error
 * naming the states in it.
 * @module
 */
import { type Chunk, functionName, type Requisite, StateError, type StateRef } from "./types.ts";

/** The planned run: levels of chunk indexes, and each chunk's resolved requisites. */
export interface Plan {
  chunks: Chunk[];
  levels: number[][];
  /** For each chunk, requisite kind → indexes of the chunks it names. */
  deps: Partial<Record<Requisite, number[]>>[];
}

/** Requisites that order their targets first (`listen` does not: it acts at the end). */
const ORDERING: Requisite[] = ["require", "watch", "onchanges", "onfail"];

function describe(c: Chunk): string {
  return `${functionName(c)} "${c.id}" in SLS "${c.sls}"`;
}

function resolve(chunks: Chunk[], ref: StateRef, from: Chunk, kind: string): number[] {
  const out: number[] = [];
  chunks.forEach((c, i) => {
    const hit = ref.module === "sls"
      ? c.sls === ref.target || c.sls.startsWith(`${ref.target}.`)
      : (ref.module === "*" || c.module === ref.module) &&
        (c.id === ref.target || c.name === ref.target);
    if (hit && c !== from) out.push(i);
  });
  if (out.length === 0) {
    throw new StateError(
      `Referenced state does not exist for requisite [${kind}: (${ref.module}: ${ref.target})] in ${
        describe(from)
      }`,
    );
  }
  return out;
}

function rank(c: Chunk): [number, number] {
  if (c.order === "first") return [0, 0];
  if (c.order === "last") return [3, 0];
  if (typeof c.order === "number") return [1, c.order];
  return [2, 0];
}

/** Resolve requisites, copy `use` arguments, and order `chunks` in levels. */
export function plan(chunks: Chunk[]): Plan {
  const deps = chunks.map((c) => {
    const d: Partial<Record<Requisite, number[]>> = {};
    for (const [kind, refs] of Object.entries(c.requisites) as [Requisite, StateRef[]][]) {
      d[kind] = [...new Set(refs.flatMap((r) => resolve(chunks, r, c, kind)))];
    }
    return d;
  });
  // `use`: take the target's arguments this state does not set.
  chunks.forEach((c, i) => {
    for (const t of deps[i]!.use ?? []) {
      for (const [k, v] of Object.entries(chunks[t]!.args)) if (!(k in c.args)) c.args[k] = v;
    }
  });
  const before: Set<number>[] = chunks.map(() => new Set());
  chunks.forEach((_, i) => {
    for (const kind of ORDERING) for (const t of deps[i]![kind] ?? []) before[i]!.add(t);
    // prereq: this state runs before the one it names.
    for (const t of deps[i]!.prereq ?? []) before[t]!.add(i);
  });
  const indeg = before.map((s) => s.size);
  const after: number[][] = chunks.map(() => []);
  before.forEach((s, i) => s.forEach((t) => after[t]!.push(i)));
  const levels: number[][] = [];
  let ready = chunks.map((_, i) => i).filter((i) => indeg[i] === 0);
  let placed = 0;
  while (ready.length) {
    ready.sort((a, b) => {
      const [ra, oa] = rank(chunks[a]!);
      const [rb, ob] = rank(chunks[b]!);
      return ra - rb || oa - ob || chunks[a]!.index - chunks[b]!.index;
    });
    levels.push(ready);
    placed += ready.length;
    const next: number[] = [];
    for (const i of ready) {
      for (const j of after[i]!) if (--indeg[j]! === 0) next.push(j);
    }
    ready = next;
  }
  if (placed < chunks.length) {
    const stuck = chunks.filter((_, i) => indeg[i]! > 0).map(describe);
    throw new StateError(`Recursive requisites were found: ${stuck.join(", ")}`);
  }
  return { chunks, levels, deps };
}
