/**
 * `zester job show` and `zester job wait` on a job that has not ended: the peels still running it
 * are shown as running, apart from those that did not return.
 */
import assert from "node:assert/strict";
import {
  client,
  closeClient,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
  zesterAt,
} from "../harness/mod.ts";

Deno.test("job show - peels still running a job show as running, not as did not return", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  await using _master = await startMaster(`${dir.path}/m`, ns.url);
  await using _web1 = await startPeel(`${dir.path}/peels`, ns.url, "web-01");
  const nc = await client(ns.url);
  try {
    await waitForPeels(nc, ["web-01"]);
  } finally {
    await closeClient(nc);
  }
  const cli = (...args: string[]) => zesterAt(`${dir.path}/cli.yaml`, ns.url, ...args);
  // Runs until the test creates `release`: each CLI call below may take seconds to start on a
  // loaded machine, so a fixed sleep could end before the checks of a running job.
  const release = `${dir.path}/release`;
  const sent = await cli(
    "web-01",
    "cmd.run",
    `while [ ! -e ${release} ]; do sleep 0.1; done; echo slept`,
    "--async",
    "--job-timeout",
    "10m",
  );
  assert.equal(sent.code, 0, sent.stderr);
  const jid = /job ID: (\S+)/.exec(sent.stdout)?.[1] ?? assert.fail(sent.stdout);

  const shown = await cli("job", "show", jid);
  assert.equal(shown.code, 1, "not complete yet, as job wait says");
  assert.doesNotMatch(shown.stdout, /did not return/i);
  assert.match(shown.stdout, /\nweb-01 +- +- +- +still running\n/);
  assert.match(shown.stdout, /\nweb-01:\n {4}Still running\n\nStill running \(1\): web-01\n$/);
  assert.match(
    shown.stderr,
    new RegExp(`job ${jid} is still running; follow it with: zester job wait ${jid}`),
  );
  const json = JSON.parse((await cli("job", "show", jid, "--out", "json")).stdout);
  assert.deepEqual(json.returns["web-01"], { returned: false, running: true });

  const early = await cli("job", "wait", jid, "-t", "1s");
  assert.equal(early.code, 1);
  assert.equal(early.stdout, "web-01:\n    Still running\n\nStill running (1): web-01\n");
  assert.match(early.stderr, new RegExp(`job ${jid} is still running`));

  await Deno.writeTextFile(release, "");
  const done = await cli("job", "wait", jid);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.stdout, "web-01:\n    slept\n");
  const after = await cli("job", "show", jid);
  assert.equal(after.code, 0);
  assert.doesNotMatch(after.stdout + after.stderr, /still running/i);
});
