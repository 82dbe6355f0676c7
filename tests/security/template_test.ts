/**
 * Template injection: a state file that reaches JavaScript's `Function` through the values nunjucks
 * hands a template (`cycler.constructor("…")()` and its kin) would run code in the peel, which
 * holds the broker and NATS, or as root under `zester call --local`. Each payload here tries to
 * write a marker file (in the peel's data dir, which the peel may write) or, where the process may
 * not write, to make a `deno` child write it; each must end in a template error naming the file and
 * line, with no marker. And the worker that renders has no permissions at all.
 */
import assert from "node:assert/strict";
import { Logger } from "../../lib/log/mod.ts";
import { startTemplateWorker } from "../../lib/template/mod.ts";
import { Master } from "../../master/master.ts";
import {
  client,
  closeClient,
  masterConfig,
  runCall,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
  writeYaml,
  zesterAt,
} from "../harness/mod.ts";

/** JavaScript that writes `marker`, itself or through a `deno` child (no quotes or backslashes). */
function implant(marker: string): string {
  const child = "Deno.writeTextFileSync(Deno.env.get(`M`),`x`)";
  return `try{Deno.writeTextFileSync("${marker}","x")}catch(e){new Deno.Command(Deno.execPath(),` +
    `{args:["eval","${child}"],env:{M:"${marker}"}}).outputSync()}return ""`;
}

/** Payloads by name: a state file whose line 2 reaches `Function` and calls it with `js`. */
const PAYLOADS: Record<string, (js: string) => string> = {
  cycler: (js) => `{{ cycler.constructor('${js}')() }}`,
  joiner: (js) => `{{ joiner.constructor('${js}')() }}`,
  range: (js) => `{{ range.constructor('${js}')() }}`,
  concat: (js) => `{{ range['con' ~ 'structor']('${js}')() }}`,
  // A dict literal's `__proto__` key sets its prototype (Deno has no `__proto__` accessor).
  proto: (js) => `{% set d = {'__proto__': cycler} %}{{ d.constructor('${js}')() }}`,
  protoKey: (js) => `{{ cycler.__proto__.constructor('${js}')() }}`,
  name: (js) => `{{ constructor.constructor('${js}')() }}`,
  macro: (js) => `{% macro m() %}{% endmacro %}{{ m.constructor('${js}')() }}`,
  caller: (js) =>
    `{% macro w() %}{{ caller.constructor('${js}')() }}{% endmacro %}{% call w() %}{% endcall %}`,
  loop: (js) => `{% for x in [1] %}{{ loop.constructor.constructor('${js}')() }}{% endfor %}`,
  attr: (js) => `{{ (cycler | attr('constructor'))('${js}')() }}`,
  // A filter's attribute resolver reaches `constructor` as well (nunjucks prints its source).
  filter: () => `{{ [cycler] | join(',', 'constructor') }}`,
};

/** Write one SLS file per payload into `tree`, each writing its marker under `markers`. */
async function writePayloads(tree: string, markers: string): Promise<void> {
  await Deno.mkdir(`${tree}/evil`, { recursive: true });
  for (const [name, payload] of Object.entries(PAYLOADS)) {
    await Deno.writeTextFile(
      `${tree}/evil/${name}.zy`,
      `# tries to write ${markers}/${name}\n${payload(implant(`${markers}/${name}`))}\n`,
    );
  }
}

function assertRefused(name: string, error: string): void {
  assert.match(
    error,
    new RegExp(
      `Cannot render "evil/${name}\\.zy:2": Cannot use "(constructor|__proto__)": it is not`,
    ),
    `${name}: ${error}`,
  );
}

async function assertNoMarkers(markers: string): Promise<void> {
  const found = [];
  for await (const e of Deno.readDir(markers)) found.push(e.name);
  assert.deepEqual(found.filter((n) => n in PAYLOADS), [], "a payload ran");
}

Deno.test("template injection - payloads reaching Function fail on a peel, and run nothing", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const d = dir.path;
  const markers = `${d}/peels/web-01/data`;
  await writePayloads(`${d}/states`, markers);
  const master = await Master.start(
    await masterConfig(ns.url, d),
    new Logger({ level: "error", sink: () => {} }),
  );
  await using peel = await startPeel(`${d}/peels`, ns.url, "web-01");
  const nc = await client(ns.url);
  try {
    await waitForPeels(nc, ["web-01"]);
    for (const name of Object.keys(PAYLOADS)) {
      const r = await zesterAt(
        `${d}/cli.yaml`,
        ns.url,
        "web-01",
        "state.apply",
        `evil.${name}`,
        "--format",
        "json",
      );
      assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
      assertRefused(name, JSON.parse(r.stdout)["web-01"].error);
    }
    await assertNoMarkers(markers);
    assert.doesNotMatch(peel.output(), /uncaught|panic/i);
  } finally {
    await closeClient(nc);
    await master.stop();
  }
});

Deno.test("template injection - payloads reaching Function fail under call --local, and run nothing", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  await writePayloads(`${d}/tree`, d);
  await writeYaml(`${d}/policy.yaml`, { id: "local", broker: { audit_log: `${d}/audit.log` } });
  for (const name of Object.keys(PAYLOADS)) {
    const r = await runCall([
      "state.apply",
      `evil.${name}`,
      "--file-root",
      `${d}/tree`,
      "--policy",
      `${d}/policy.yaml`,
    ]);
    assert.equal(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
    assertRefused(name, r.stderr);
  }
  await assertNoMarkers(d);
});

Deno.test("template injection - the template worker has no permissions", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/mod.ts`, "export const x = 1;\n");
  const worker = startTemplateWorker(new URL("./template_probe.ts", import.meta.url));
  try {
    const report = await new Promise<Record<string, string>>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      worker.postMessage({ dir: dir.path, deno: Deno.execPath() });
    });
    assert.deepEqual(Object.keys(report).sort(), [
      "env",
      "ffi",
      "import",
      "net",
      "read",
      "run",
      "state",
      "sys",
      "write",
    ]);
    for (const [what, result] of Object.entries(report)) {
      // A dynamic import fails as module loading fails, with a TypeError.
      if (what !== "state") {
        assert.match(result, /^(NotCapable|TypeError): Requires \w+ access/, what);
      }
    }
    assert.equal(report.state, "none granted");
    await assert.rejects(Deno.stat(`${dir.path}/written`), Deno.errors.NotFound);
  } finally {
    worker.terminate();
  }
});
