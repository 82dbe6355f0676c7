import assert from "node:assert/strict";
import { YAML_ENV } from "../../lib/config/mod.ts";
import { spawnDaemon, tempDir } from "../harness/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Start `main` with config `yaml`, in which `{dir}` is the (readable) dir holding the config. */
async function startWith(main: string, yaml: string): Promise<{ code: number; output: string }> {
  await using dir = await tempDir();
  const path = `${dir.path}/config.yaml`;
  await Deno.writeTextFile(path, yaml.replaceAll("{dir}", dir.path));
  const flags = ["--no-prompt", `--allow-read=${dir.path}`, `--allow-env=${YAML_ENV.join(",")}`];
  const d = spawnDaemon(main, `${ROOT}${main}`, flags, path);
  const status = await d.status;
  return { code: status.code, output: d.output() };
}

for (
  const [name, main, yaml, want] of [
    ["peel bad id", "peel/main.ts", "id: web.01\n", /field \\"id\\": expected a peel id/],
    [
      "peel unknown key",
      "peel/main.ts",
      "id: web-01\nfacts_intervall: 5m\n",
      /field \\"facts_intervall\\": expected no such key/,
    ],
    [
      "peel wrong type",
      "peel/main.ts",
      "id: web-01\nnats_url: nats://127.0.0.1:4222\nfacts_interval: [5]\n",
      /field \\"facts_interval\\": expected a duration/,
    ],
    [
      "peel missing id",
      "peel/main.ts",
      "nats_url: nats://127.0.0.1:4222\n",
      /field \\"id\\".*got nothing/,
    ],
    [
      "master empty config",
      "master/main.ts",
      "",
      /field \\"nats_url\\": expected a NATS URL or a list of them, got nothing/,
    ],
    [
      "master states_dir missing",
      "master/main.ts",
      "nats_url: nats://127.0.0.1:4222\nstates_dir: {dir}/missing\n",
      /field \\"states_dir\\": cannot read directory \\"[^"]*\/missing\\": No such file/,
    ],
    [
      "master unknown key",
      "master/main.ts",
      "nats_url: nats://127.0.0.1:4222\nstate_dir: /x\n",
      /field \\"state_dir\\": expected no such key/,
    ],
    [
      "master bad yaml",
      "master/main.ts",
      "nats_url: [\n",
      /Cannot parse config \\".*config\.yaml:\d+:\d+\\"/,
    ],
    [
      "master plain-text remote URL",
      "master/main.ts",
      "nats_url: nats://10.9.9.9:4222\nstates_dir: {dir}\n",
      /Refusing plain-text NATS URL/,
    ],
  ] as const
) {
  Deno.test(`startup - ${name} fails at start naming the field`, async () => {
    const { code, output } = await startWith(main, yaml);
    assert.notEqual(code, 0, output);
    assert.match(output, want);
    // One JSON log line per message, never a stack trace.
    assert.ok(!/\n\s+at /.test(output), output);
  });
}
