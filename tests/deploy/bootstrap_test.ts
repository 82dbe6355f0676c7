/** `deploy/dev/bootstrap.sh` installs what the tests need when it is missing. */
import assert from "node:assert/strict";
import { tempDir } from "../harness/mod.ts";

const SCRIPT = new URL("../../deploy/dev/bootstrap.sh", import.meta.url).pathname;

Deno.test("bootstrap - installs curl and jq from apt when missing", async () => {
  await using dir = await tempDir();
  const bin = `${dir.path}/bin`;
  await Deno.mkdir(bin);
  const calls = `${dir.path}/apt-calls`;
  const stub = async (name: string, body: string) =>
    await Deno.writeTextFile(`${bin}/${name}`, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  await stub("apt-get", `echo "$@" >> ${calls}`);
  await stub("nats-server", "exit 0");
  await stub("curl", "exit 0");
  // Only the function: the rest of the script installs Deno and runs the suite.
  const fn = (await Deno.readTextFile(SCRIPT)).match(/^need_apt\(\) \{\n[\s\S]*?\n\}\n/m)?.[0];
  assert.ok(fn, "bootstrap.sh defines need_apt");
  const run = await new Deno.Command("/bin/bash", {
    args: ["-c", `set -euo pipefail\n${fn}need_apt`],
    env: { PATH: bin },
    clearEnv: true,
  }).output();
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  const lines = (await Deno.readTextFile(calls)).trim().split("\n");
  assert.deepEqual(lines, ["update -qq", "install -y -qq jq"]);

  await stub("jq", "exit 0");
  await Deno.remove(calls);
  const again = await new Deno.Command("/bin/bash", {
    args: ["-c", `set -euo pipefail\n${fn}need_apt`],
    env: { PATH: bin },
    clearEnv: true,
  }).output();
  assert.equal(again.code, 0);
  await assert.rejects(Deno.stat(calls), Deno.errors.NotFound, "nothing to install");
});
