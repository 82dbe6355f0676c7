/**
 * The peel's command loop on a real nats-server: where a return goes, where its confirmation
 * goes, and what a master's `resend` may and may not make a peel do.
 */
import assert from "node:assert/strict";
import type { Msg } from "nats";
import { BUCKETS, decode, encode, provisionStorage, subjects } from "../../lib/bus/mod.ts";
import { type ExecReturn, ksuid } from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { CommandServer } from "../../peel/command_server.ts";
import { client, closeClient, startNatsServer } from "../harness/mod.ts";

Deno.test("command server - returns are stored, confirmed to the master, sent again on resend only", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  await provisionStorage(await nc.jetstreamManager());
  const lines: string[] = [];
  const log = new Logger({ level: "debug", sink: (l) => lines.push(l) });
  let ran = 0;
  let withBigInt = false;
  const server = new CommandServer({
    nc,
    peelId: "web-01",
    facts: () => (ran++, withBigInt ? { id: "web-01", big: 2n ** 70n } : { id: "web-01" }),
    broker: { request: () => Promise.reject(new Error("no broker here")) },
    log,
  });
  const returns: Msg[] = [];
  const acks: Msg[] = [];
  nc.subscribe(subjects.jobReturnAll, { callback: (_e, m) => returns.push(m) });
  nc.subscribe("master-inbox.>", { callback: (_e, m) => acks.push(m) });
  await nc.flush();
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(cond());
  };
  try {
    const jid = ksuid();
    const req = { jid, fun: "grains.items", ack: `master-inbox.${jid}` };
    nc.publish(subjects.cmd("web-01"), encode(req));
    await until(() => acks.length === 1);
    assert.equal(returns[0]!.subject, `$KV.${BUCKETS.jobReturns.name}.${jid}.web-01`);
    assert.equal((decode(returns[0]!.data) as ExecReturn).success, true);
    assert.equal(acks[0]!.subject, `master-inbox.${jid}.web-01.ok`);
    assert.match(new TextDecoder().decode(acks[0]!.data), /"stream":"KV_job-returns"/);
    assert.equal(ran, 1);

    // Delivered twice: run once.
    nc.publish(subjects.cmd("web-01"), encode(req));
    // Asked to resend: the kept return again, not a second run.
    nc.publish(subjects.cmd("web-01"), encode({ ...req, resend: true }));
    await until(() => acks.length === 2);
    assert.deepEqual(returns[1]!.data, returns[0]!.data);
    assert.equal(ran, 1);

    // A resend for a job the peel never received runs nothing and says so.
    const other = ksuid();
    nc.publish(
      subjects.cmd("web-01"),
      encode({ jid: other, fun: "grains.items", ack: `master-inbox.${other}`, resend: true }),
    );
    await until(() => lines.some((l) => l.includes("a job this peel never received")));
    await nc.flush();
    assert.equal(returns.length, 2);
    assert.equal(ran, 1);

    // An ack subject with wildcards could point confirmations anywhere: refused.
    nc.publish(subjects.cmd("web-01"), encode({ ...req, jid: ksuid(), ack: "master-inbox.>" }));
    await until(() => lines.some((l) => l.includes("dropping malformed command")));
    assert.match(lines.find((l) => l.includes("dropping malformed command"))!, /field \\"ack\\"/);
    assert.equal(ran, 1);

    // A result MessagePack cannot carry still gets a return: a failed one, saying why.
    withBigInt = true;
    const big = ksuid();
    nc.publish(
      subjects.cmd("web-01"),
      encode({ jid: big, fun: "grains.get", args: ["big"], ack: `master-inbox.${big}` }),
    );
    await until(() => acks.length === 3);
    assert.equal(acks[2]!.subject, `master-inbox.${big}.web-01.failed`);
    const failed = decode(returns.at(-1)!.data) as ExecReturn;
    assert.equal(failed.success, false);
    assert.match(failed.error ?? "", /^Cannot send the result of grains.get: /);
  } finally {
    await server.stop();
    await closeClient(nc);
  }
});
