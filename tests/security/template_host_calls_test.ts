/**
 * Templates that run commands or read host files (`salt['cmd.run']`, `salt['file.read']`,
 * `salt['file.file_exists']`, as Salt formulas do) ask the host, which asks the broker: the
 * policy decides and the audit log records it. Under `zester call --local` (often run as root) a
 * template must get no more than the policy gives: a command without `cmd_run: allow`, or a file
 * outside the read paths, is refused with the file and line, and nothing runs.
 */
import assert from "node:assert/strict";
import { runCall, tempDir, writeYaml } from "../harness/mod.ts";

Deno.test("template host calls - commands and host files obey the broker's policy, audited", async () => {
  await using dir = await tempDir();
  const d = dir.path;
  const marker = `${d}/marker`;
  await Deno.mkdir(`${d}/tree`);
  await Deno.mkdir(`${d}/readable`);
  await Deno.mkdir(`${d}/secret`);
  await Deno.writeTextFile(`${d}/readable/conf`, "listen 80\n");
  await Deno.writeTextFile(`${d}/secret/key`, "s3cret\n");
  const sls = (body: string) => `# line 1\n${body}\nx:\n  test.nop: []\n`;
  await Deno.writeTextFile(
    `${d}/tree/run.zy`,
    sls(`{% set out = salt['cmd.run']('touch ${marker}') %}`),
  );
  await Deno.writeTextFile(
    `${d}/tree/shadow.zy`,
    sls(`{{ salt['file.read']('${d}/secret/key') }}`),
  );
  await Deno.writeTextFile(
    `${d}/tree/probe.zy`,
    sls(`{{ salt['file.file_exists']('${d}/secret/key') }}`),
  );
  await Deno.writeTextFile(
    `${d}/tree/allowed.zy`,
    `{% set conf = salt['file.read']('${d}/readable/conf') %}
x:
  test.configurable_test_state:
    - comment: "{{ conf | trim }} {{ salt['file.file_exists']('${d}/readable/conf') }}"
`,
  );
  const policy = async (cmdRun: string) =>
    await writeYaml(`${d}/policy.yaml`, {
      id: "local",
      broker: { audit_log: `${d}/audit.log`, read_paths: [`${d}/readable`], cmd_run: cmdRun },
    });
  const show = (ref: string) =>
    runCall([
      "state.show_sls",
      ref,
      "--file-root",
      `${d}/tree`,
      "--policy",
      `${d}/policy.yaml`,
      "--format",
      "json",
    ]);

  await policy("deny");
  const run = await show("run");
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /Cannot render "run\.zy:2": cmd\.run: Denied by policy: shell commands \(cmd_run\) are not allowed/,
  );
  await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "the command did not run");
  for (const ref of ["shadow", "probe"]) {
    const r = await show(ref);
    assert.equal(r.code, 2, ref);
    assert.match(
      r.stderr,
      new RegExp(`Cannot render "${ref}\\.zy:2": file\\.\\w+: Denied by policy`),
    );
    assert.doesNotMatch(r.stderr + r.stdout, /s3cret/);
  }
  const allowed = await show("allowed");
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(JSON.parse(allowed.stdout)[0].args.comment, "listen 80 True");

  const audit = (await Deno.readTextFile(`${d}/audit.log`)).trim().split("\n").map((l) =>
    JSON.parse(l) as { op: string; decision: string }
  );
  const denied = audit.filter((e) => e.decision === "deny").map((e) => e.op);
  assert.ok(
    denied.includes("run") && denied.includes("read") && denied.includes("stat"),
    denied.join(),
  );

  await policy("allow");
  const ran = await show("run");
  assert.equal(ran.code, 0, ran.stderr);
  await Deno.stat(marker);
});
