/**
 * A unified diff of two texts (longest-common-subsequence on lines), for `file.managed` changes.
 * @module
 */

/** Lines past which a diff is summarized instead of computed. */
const MAX_LINES = 4000;

/** Unified diff of `a` → `b`, with 3 lines of context; "" when equal. */
export function unifiedDiff(a: string, b: string, from = "old", to = "new"): string {
  if (a === b) return "";
  const x = a.split("\n");
  const y = b.split("\n");
  if (x.length > MAX_LINES || y.length > MAX_LINES) {
    return `--- ${from}\n+++ ${to}\n(files differ: ${x.length} → ${y.length} lines, diff omitted)`;
  }
  const n = x.length, m = y.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = x[i] === y[j]
        ? lcs[i + 1]![j + 1]! + 1
        : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: [" " | "-" | "+", string][] = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push([" ", x[i]!]);
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push(["-", x[i++]!]);
    } else {
      ops.push(["+", y[j++]!]);
    }
  }
  const out = [`--- ${from}`, `+++ ${to}`];
  const C = 3;
  let k = 0;
  while (k < ops.length) {
    if (ops[k]![0] === " ") {
      k++;
      continue;
    }
    let start = Math.max(0, k - C);
    let end = k;
    while (end < ops.length) {
      if (ops[end]![0] !== " ") end++;
      else {
        let run = 0;
        while (end + run < ops.length && ops[end + run]![0] === " ") run++;
        if (end + run >= ops.length || run > 2 * C) break;
        end += run;
      }
    }
    end = Math.min(ops.length, end + C);
    let aLine = 1, bLine = 1;
    for (let q = 0; q < start; q++) {
      if (ops[q]![0] !== "+") aLine++;
      if (ops[q]![0] !== "-") bLine++;
    }
    const hunk = ops.slice(start, end);
    const aLen = hunk.filter((o) => o[0] !== "+").length;
    const bLen = hunk.filter((o) => o[0] !== "-").length;
    out.push(`@@ -${aLine},${aLen} +${bLine},${bLen} @@`, ...hunk.map(([op, l]) => op + l));
    k = end;
    start = end;
  }
  return out.join("\n");
}
