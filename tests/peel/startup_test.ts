import assert from "node:assert/strict";
import { V8_FLAGS, YAML_ENV } from "../../lib/config/mod.ts";
import { DENO_CONFIG, tempDir } from "../harness/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Start `main` with config `yaml`, in which `{dir}` is the (readable) dir holding the config,
 * and daemon flags `args`; its exit status, stderr and stdout.
 */
async function startWith(
  main: string,
  yaml: string,
  args: string[] = [],
): Promise<{ code: number; output: string; stdout: string }> {
  await using dir = await tempDir();
  const path = `${dir.path}/config.yaml`;
  await Deno.writeTextFile(path, yaml.replaceAll("{dir}", dir.path));
  const flags = ["--no-prompt", `--allow-read=${dir.path}`, `--allow-env=${YAML_ENV.join(",")}`];
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      DENO_CONFIG,
      V8_FLAGS,
      ...flags,
      `${ROOT}${main}`,
      "--config",
      path,
      ...args,
    ],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stderr), stdout: dec.decode(out.stdout) };
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

for (const main of ["peel/main.ts", "master/main.ts"]) {
  Deno.test(`startup - ${main}: an unknown flag exits 2 with the usage line`, async () => {
    const { code, output } = await startWith(main, "id: web-01\n", ["--nats-ulr", "x"]);
    assert.equal(code, 2, output);
    const name = main.startsWith("peel") ? "zester-peel" : "zester-master";
    assert.equal(
      output,
      `${name}: Unknown flag "--nats-ulr"\n` +
        `Usage: ${name} [--config FILE] [--<key> VALUE]...  (--help for more)\n`,
    );
  });

  Deno.test(`startup - ${main}: --help lists the flags and exits 0`, async () => {
    const { code, stdout } = await startWith(main, "", ["--help"]);
    assert.equal(code, 0);
    assert.match(stdout, /--nats-url <value> +a NATS URL or a list of them/);
    assert.match(stdout, /--log-level <value> +one of "debug", "info", "warn", "error"/);
    assert.match(
      stdout,
      /--health-addr <value> +host:port \(such as 127\.0\.0\.1:9091\), or "off"/,
    );
  });
}

Deno.test("startup - a bad flag value exits 2 naming the flag", async () => {
  const { code, output } = await startWith(
    "peel/main.ts",
    "id: web-01\nnats_url: nats://127.0.0.1:4222\n",
    ["--log-level", "loud"],
  );
  assert.equal(code, 2, output);
  assert.match(output, /"msg":"Invalid flag --log-level: expected one of \\"debug\\"/);
});
