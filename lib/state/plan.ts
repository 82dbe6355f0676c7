/**
 * Planning: every requisite resolved to the states it names (a missing one is an error naming
 * both states), then the order Salt runs them in: by `order` (`first`, numbers, unordered,
 * `last`), then declaration order, each state's requisites (and the states that `prereq` it)
 * run right before it. A cycle is an error naming the states in it.
 * @module
 */
import { type Chunk, functionName, type Requisite, StateError, type StateRef } from "./types.ts";

/** The planned run: the run order, what each state waits for, and its resolved requisites. */
export interface Plan {
  chunks: Chunk[];
  /** Chunk indexes in the order they start. */
  order: number[];
  /** For each chunk, the chunks that must finish before it starts. */
  before: number[][];
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

/** Resolve requisites, copy `use` arguments, and order `chunks` as Salt runs them. */
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
  const sorted = chunks.map((_, i) => i).sort((a, b) => {
    const [ra, oa] = rank(chunks[a]!);
    const [rb, ob] = rank(chunks[b]!);
    return ra - rb || oa - ob || chunks[a]!.index - chunks[b]!.index;
  });
  const position: number[] = [];
  sorted.forEach((i, k) => position[i] = k);
  const waits = before.map((s) => [...s].sort((a, b) => position[a]! - position[b]!));
  const order: number[] = [];
  const done: boolean[] = [];
  const onPath: boolean[] = [];
  const path: number[] = [];
  const visit = (i: number): void => {
    if (done[i]) return;
    if (onPath[i]) {
      const cycle = path.slice(path.indexOf(i)).map((j) => describe(chunks[j]!));
      throw new StateError(`Recursive requisites were found: ${cycle.join(", ")}`);
    }
    onPath[i] = true;
    path.push(i);
    for (const j of waits[i]!) visit(j);
    path.pop();
    onPath[i] = false;
    done[i] = true;
    order.push(i);
  };
  for (const i of sorted) visit(i);
  return { chunks, order, before: waits, deps };
}
