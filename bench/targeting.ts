/**
 * targeting: resolving expressions over 100,000 simulated peels with realistic facts, through
 * the index and by full scan; index build time and memory (V8 heap, and the packed facts held
 * outside it). A scan reads every peel's packed facts, so it is timed over fewer runs.
 * @module
 */
import { compileTarget, PeelIndex, resolveTarget, scanTarget } from "../lib/target/mod.ts";
import { simulatedFacts } from "./sim_facts.ts";
import { median } from "./stats.ts";

const r2 = (x: number) => Math.round(x * 1000) / 1000;

/** Build an index of `peels` simulated peels and time the expressions against it. */
export function targeting(peels = 100_000, runs = 101, scanRuns = 11) {
  const ids = Array.from({ length: peels }, (_, i) => `node-${String(i).padStart(6, "0")}`);
  const facts = ids.map((id) => simulatedFacts(id));
  (globalThis as { gc?: () => void }).gc?.();
  const before = Deno.memoryUsage();
  const t0 = performance.now();
  const index = new PeelIndex();
  ids.forEach((id, i) => index.set(id, facts[i]!));
  const buildMs = performance.now() - t0;
  const after = Deno.memoryUsage();
  const heapMib = (after.heapUsed - before.heapUsed) / 1048576;
  const externalMib = (after.external - before.external) / 1048576;
  const list = Array.from({ length: 100 }, (_, i) => ids[i * 997 % peels]).join(",");
  const cases: [string, string][] = [
    ["prefix glob (100 peels)", "node-0012*"],
    ["fact match, selective (tags:rack-7)", "G@tags:rack-7"],
    ["fact match, broad (role:db)", "G@role:db"],
    ["list of 100", `L@${list}`],
    ["compound of three with not", "node-01* and G@os:family:debian and not G@role:db"],
  ];
  const rows = cases.map(([name, expr]) => {
    const t = compileTarget(expr);
    (globalThis as { gc?: () => void }).gc?.();
    const timed = (f: () => string[], times: number) => {
      const xs: number[] = [];
      let n = 0;
      for (let i = 0; i < times; i++) {
        const s = performance.now();
        n = f().length;
        xs.push(performance.now() - s);
      }
      return { ms: median(xs), n };
    };
    const indexed = timed(() => resolveTarget(t, index), runs);
    const scanned = timed(() => scanTarget(t, index), scanRuns);
    if (indexed.n !== scanned.n) throw new Error(`index and scan disagree on ${expr}`);
    return {
      expression: name,
      matched: indexed.n,
      indexed_ms: r2(indexed.ms),
      scan_ms: r2(scanned.ms),
    };
  });
  return {
    peels,
    build_ms: Math.round(buildMs),
    index_heap_mib: Math.round(heapMib),
    packed_facts_mib: Math.round(externalMib),
    runs,
    scan_runs: scanRuns,
    resolutions: rows,
  };
}
