/** No import cycle among the source tree's modules, type-only imports included. */
import assert from "node:assert/strict";
import { DENO_CONFIG, tempDir } from "../harness/mod.ts";

const ROOT = new URL("../../", import.meta.url);
const SOURCE_DIRS = ["lib", "master", "peel", "cli"];

interface InfoModule {
  specifier: string;
  dependencies?: {
    isDynamic?: boolean;
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

async function sourceFiles(dir: URL): Promise<URL[]> {
  const out: URL[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await sourceFiles(new URL(`${e.name}/`, dir)));
    else if (e.name.endsWith(".ts")) out.push(new URL(e.name, dir));
  }
  return out;
}

/** Static imports (type-only too) between the project's own modules, by file URL. */
async function importGraph(): Promise<Map<string, string[]>> {
  const files = (await Promise.all(SOURCE_DIRS.map((d) => sourceFiles(new URL(`${d}/`, ROOT)))))
    .flat();
  await using dir = await tempDir();
  const root = `${dir.path}/all.ts`;
  await Deno.writeTextFile(root, files.map((f) => `import ${JSON.stringify(f.href)};\n`).join(""));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", DENO_CONFIG, root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const modules = JSON.parse(new TextDecoder().decode(out.stdout)).modules as InfoModule[];
  const own = (s?: string) => s?.startsWith(ROOT.href) ? s : undefined;
  const graph = new Map<string, string[]>();
  for (const m of modules) {
    if (!own(m.specifier)) continue;
    graph.set(
      m.specifier,
      (m.dependencies ?? []).filter((d) => !d.isDynamic)
        .flatMap((d) => [own(d.code?.specifier), own(d.type?.specifier)])
        .filter((s): s is string => s !== undefined),
    );
  }
  return graph;
}

/** One cycle per strongly connected component, as a path of repository-relative names. */
function cycles(graph: Map<string, string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[] = [];
  const name = (s: string) => s.slice(ROOT.href.length);
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const members: string[] = [];
    for (let w = stack.pop()!;; w = stack.pop()!) {
      members.push(w);
      if (w === v) break;
    }
    const selfLoop = graph.get(v)?.includes(v);
    if (members.length > 1 || selfLoop) found.push(members.map(name).sort().join(" <-> "));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("import cycles - none among lib/, master/, peel/ and cli/", async () => {
  const graph = await importGraph();
  assert.ok(graph.size > 100, `only ${graph.size} modules found`);
  assert.deepEqual(cycles(graph), []);
});
