/**
 * Unified diffs for `file.managed` changes, as GNU `diff -u` prints them (without the final
 * newline). Lines are compared with Myers' O(ND) algorithm in linear space (divide and conquer on
 * the middle snake), after the lines found in only one file are set aside: they are changes in
 * every shortest diff, so a file rewritten whole costs no search. A stretch that would need more
 * than {@linkcode MAX_SEARCH} edits is shown as replaced whole, as GNU diff also gives up
 * minimality when the search gets too expensive.
 * @module
 */

/** Unchanged lines shown around each change. */
const CONTEXT = 3;
/** Edits searched for in one stretch before it is shown as replaced whole. */
const MAX_SEARCH = 1024;

/** A file's lines; `endsNewline` is false when its last line has no newline. */
interface Lines {
  text: string[];
  endsNewline: boolean;
}

function splitLines(s: string): Lines {
  if (s === "") return { text: [], endsNewline: true };
  const text = s.split("\n");
  const endsNewline = text.at(-1) === "";
  if (endsNewline) text.pop();
  return { text, endsNewline };
}

/** Number the distinct lines; the last line without a newline differs from the same with one. */
function intern(x: Lines, y: Lines): [Int32Array, Int32Array] {
  const ids = new Map<string, number>();
  const number = (l: Lines) =>
    Int32Array.from(l.text, (line, i) => {
      const key = i === l.text.length - 1 && !l.endsNewline ? `${line}\0` : line;
      let id = ids.get(key);
      if (id === undefined) ids.set(key, id = ids.size);
      return id;
    });
  return [number(x), number(y)];
}

/**
 * The split point of a shortest edit script from `a[aLo, aHi)` to `b[bLo, bHi)` (both non-empty):
 * where its middle snake ends, or undefined when it needs more than {@linkcode MAX_SEARCH} edits.
 */
function middleSnake(
  a: Int32Array,
  b: Int32Array,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
): [number, number] | undefined {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const maxD = Math.min(Math.ceil((n + m) / 2), MAX_SEARCH);
  const offset = maxD + 1;
  const size = 2 * maxD + 3;
  const forward = new Int32Array(size).fill(-1);
  const backward = new Int32Array(size).fill(-1);
  forward[offset + 1] = 0;
  backward[offset + 1] = 0;
  const delta = n - m;
  const odd = delta % 2 !== 0;
  let kStart = 0, kEnd = 0, rStart = 0, rEnd = 0;
  for (let d = 0; d < maxD; d++) {
    for (let k = -d + kStart; k <= d - kEnd; k += 2) {
      const at = offset + k;
      let x = k === -d || (k !== d && forward[at - 1]! < forward[at + 1]!)
        ? forward[at + 1]!
        : forward[at - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) x++, y++;
      forward[at] = x;
      if (x > n) kEnd += 2;
      else if (y > m) kStart += 2;
      else if (odd) {
        const other = offset + delta - k;
        if (other >= 0 && other < size && backward[other] !== -1 && x >= n - backward[other]!) {
          return [aLo + x, bLo + y];
        }
      }
    }
    for (let k = -d + rStart; k <= d - rEnd; k += 2) {
      const at = offset + k;
      let x = k === -d || (k !== d && backward[at - 1]! < backward[at + 1]!)
        ? backward[at + 1]!
        : backward[at - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aHi - 1 - x] === b[bHi - 1 - y]) x++, y++;
      backward[at] = x;
      if (x > n) rEnd += 2;
      else if (y > m) rStart += 2;
      else if (!odd) {
        const other = offset + delta - k;
        if (other >= 0 && other < size && forward[other] !== -1) {
          const fx = forward[other]!;
          if (fx >= n - x) return [aLo + fx, bLo + fx - (other - offset)];
        }
      }
    }
  }
  return undefined;
}

/** Mark in `gone` and `added` the lines of a shortest edit script from `a[aLo, aHi)` to `b[bLo, bHi)`. */
function compare(
  a: Int32Array,
  b: Int32Array,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  gone: Uint8Array,
  added: Uint8Array,
): void {
  while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) aLo++, bLo++;
  while (aLo < aHi && bLo < bHi && a[aHi - 1] === b[bHi - 1]) aHi--, bHi--;
  const split = aLo === aHi || bLo === bHi ? undefined : middleSnake(a, b, aLo, aHi, bLo, bHi);
  if (!split) {
    gone.fill(1, aLo, aHi);
    added.fill(1, bLo, bHi);
    return;
  }
  compare(a, b, aLo, split[0], bLo, split[1], gone, added);
  compare(a, b, split[0], aHi, split[1], bHi, gone, added);
}

/** Which lines of each file a shortest edit script removes and adds. */
function changes(a: Int32Array, b: Int32Array): [Uint8Array, Uint8Array] {
  const gone = new Uint8Array(a.length);
  const added = new Uint8Array(b.length);
  const inA = new Set(a);
  const inB = new Set(b);
  // Lines only one file has are changes in any case; the search runs on the others.
  const keptA: number[] = [];
  const keptB: number[] = [];
  a.forEach((id, i) => inB.has(id) ? keptA.push(i) : gone[i] = 1);
  b.forEach((id, j) => inA.has(id) ? keptB.push(j) : added[j] = 1);
  const subGone = new Uint8Array(keptA.length);
  const subAdded = new Uint8Array(keptB.length);
  compare(
    Int32Array.from(keptA, (i) => a[i]!),
    Int32Array.from(keptB, (j) => b[j]!),
    0,
    keptA.length,
    0,
    keptB.length,
    subGone,
    subAdded,
  );
  subGone.forEach((g, k) => gone[keptA[k]!] = g);
  subAdded.forEach((g, k) => added[keptB[k]!] = g);
  return [gone, added];
}

/** A run of changed lines: `a[a0, a1)` replaced by `b[b0, b1)`. */
interface Change {
  a0: number;
  a1: number;
  b0: number;
  b1: number;
}

/** GNU's range: `start` alone for one line, `start,count` otherwise (an empty one at the line before). */
function range(start: number, count: number): string {
  if (count === 1) return String(start + 1);
  return `${count === 0 ? start : start + 1},${count}`;
}

/** Unified diff of `a` → `b` with 3 lines of context, as `diff -u` prints it; "" when equal. */
export function unifiedDiff(a: string, b: string, from = "old", to = "new"): string {
  if (a === b) return "";
  const x = splitLines(a);
  const y = splitLines(b);
  const [gone, added] = changes(...intern(x, y));
  const runs: Change[] = [];
  for (let i = 0, j = 0; i < gone.length || j < added.length;) {
    if (!gone[i] && !added[j]) {
      i++, j++;
      continue;
    }
    const run = { a0: i, a1: i, b0: j, b1: j };
    while (gone[run.a1]) run.a1++;
    while (added[run.b1]) run.b1++;
    runs.push(run);
    i = run.a1;
    j = run.b1;
  }
  const out = [`--- ${from}`, `+++ ${to}`];
  const line = (l: Lines, i: number, mark: string) => {
    out.push(mark + l.text[i]);
    if (i === l.text.length - 1 && !l.endsNewline) out.push("\\ No newline at end of file");
  };
  for (let r = 0; r < runs.length;) {
    const first = runs[r]!;
    let end = r + 1;
    // Changes at most 2 × context lines apart share a hunk, as in GNU diff.
    while (end < runs.length && runs[end]!.a0 - runs[end - 1]!.a1 <= 2 * CONTEXT) end++;
    const hunk = runs.slice(r, end);
    const last = hunk.at(-1)!;
    r = end;
    const lead = Math.min(CONTEXT, first.a0);
    const trail = Math.min(CONTEXT, x.text.length - last.a1);
    const aStart = first.a0 - lead;
    const bStart = first.b0 - lead;
    out.push(
      `@@ -${range(aStart, last.a1 + trail - aStart)} +${
        range(bStart, last.b1 + trail - bStart)
      } @@`,
    );
    let i = aStart;
    for (const run of hunk) {
      for (; i < run.a0; i++) line(x, i, " ");
      for (let k = run.a0; k < run.a1; k++) line(x, k, "-");
      for (let k = run.b0; k < run.b1; k++) line(y, k, "+");
      i = run.a1;
    }
    for (; i < last.a1 + trail; i++) line(x, i, " ");
  }
  return out.join("\n");
}
