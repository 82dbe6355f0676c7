/**
 * Daemon flags on live daemons: each overrides its file's key, and the launcher derives the
 * grants from the same merged config, so a flag that moves a URL or a path moves its grant.
 */
import assert from "node:assert/strict";
import {
  client,
  closeClient,
  freePort,
  startMaster,
  startNatsServer,
  startPeel,
  tempDir,
  waitForPeels,
} from "../harness/mod.ts";

Deno.test("daemon flags - master and peel run as their flags say, with grants that follow", async () => {
  await using ns = await startNatsServer({ plain: true });
  await using dir = await tempDir();
  const d = dir.path;
  const dead = `nats://127.0.0.1:${freePort()}`;
  await Deno.mkdir(`${d}/flag-states`);
  await using master = await startMaster(d, dead, { states_dir: `${d}/missing` }, [
    "--nats-url",
    ns.url,
    "--states-dir",
    `${d}/flag-states`,
    "--id",
    "master-flags",
    "--health-addr",
    "127.0.0.1:9191",
  ]);
  assert.ok(
    master.flags.includes(`--allow-net=${new URL(ns.url).host},127.0.0.1:9191`),
    master.flags.join(" "),
  );
  assert.ok(
    !master.flags.some((f) => f.includes(new URL(dead).host)),
    "no grant for the file's URL",
  );
  assert.ok(
    master.flags.some((f) => f.startsWith("--allow-read=") && f.includes(`${d}/flag-states`)),
  );
  assert.match(master.output(), /"master_id":"master-flags"/);
  assert.match(master.output(), /"msg":"health endpoints listening".*"addr":"127\.0\.0\.1:9191"/);

  await using peel = await startPeel(d, dead, "file-id", {
    extra: { log_level: "info" },
    args: [
      "--id",
      "flag-id",
      "--nats-url",
      ns.url,
      "--data-dir",
      `${d}/flag-data`,
      "--log-level",
      "debug",
    ],
  });
  assert.ok(peel.flags.includes(`--allow-write=${d}/flag-data`), peel.flags.join(" "));
  assert.match(peel.output(), /"level":"debug"/);
  assert.match(peel.output(), /"peel_id":"flag-id"/);
  const nc = await client(ns.url);
  try {
    await waitForPeels(nc, ["flag-id"]);
  } finally {
    await closeClient(nc);
  }
  assert.ok((await Deno.stat(`${d}/flag-data`)).isDirectory);
});
