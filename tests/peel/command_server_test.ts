/**
 * The peel's command loop on a real nats-server: where a return goes, where its confirmation
 * goes, what a repeated request may and may not make a peel do (across a restart too), and
 * cancels, deadlines and the state run lock.
 */
import assert from "node:assert/strict";
import type { Msg, NatsConnection } from "nats";
import {
  ackReplySubject,
  BUCKETS,
  decode,
  encode,
  provisionStorage,
  subjects,
} from "../../lib/bus/mod.ts";
import { type ExecReturn, isRunningAnswer, ksuid } from "../../lib/job/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { CommandServer } from "../../peel/command_server.ts";
import type { Broker } from "../../peel/broker/mod.ts";
import { client, closeClient, startNatsServer, tempDir, until } from "../harness/mod.ts";

const noBroker: Broker = { request: () => Promise.reject(new Error("no broker here")) };

function request(jid: string, fun: string, extra: Record<string, unknown> = {}) {
  return {
    jid,
    fun,
    timeout_ms: 30_000,
    deadline: new Date(Date.now() + 30_000).toISOString(),
    ...extra,
  };
}

/** Send `req` to web-01 as a master does: its ack subject in the reply subject. */
function send(nc: NatsConnection, req: { jid: string }, reply?: string): void {
  nc.publish(subjects.cmd("web-01"), encode(req), {
    reply: reply ?? ackReplySubject(`master-inbox.${req.jid}`, "web-01", "answer"),
  });
}

Deno.test("command server - a job runs once, even across a restart; its return is kept and sent again", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const nc = await client(ns.url);
  await provisionStorage(await nc.jetstreamManager());
  const lines: string[] = [];
  const log = new Logger({ level: "debug", sink: (l) => lines.push(l) });
  let ran = 0;
  let withBigInt = false;
  const start = () =>
    CommandServer.start({
      nc,
      peelId: "web-01",
      facts: () => (ran++, withBigInt ? { id: "web-01", big: 2n ** 70n } : { id: "web-01" }),
      broker: noBroker,
      log,
      journalDir: `${dir.path}/jobs`,
    });
  let server = await start();
  const returns: Msg[] = [];
  const acks: Msg[] = [];
  nc.subscribe(subjects.jobReturnAll, { callback: (_e, m) => returns.push(m) });
  nc.subscribe("master-inbox.>", { callback: (_e, m) => acks.push(m) });
  await nc.flush();
  try {
    const jid = ksuid();
    const req = request(jid, "grains.items");
    send(nc, req);
    await until("the first ack", () => acks.length === 1);
    assert.equal(returns[0]!.subject, `$KV.${BUCKETS.jobReturns.name}.${jid}.web-01`);
    assert.equal((decode(returns[0]!.data) as ExecReturn).success, true);
    assert.equal(acks[0]!.subject, `master-inbox.${jid}.web-01.ok`);
    assert.match(new TextDecoder().decode(acks[0]!.data), /"stream":"KV_job-returns"/);
    assert.equal(ran, 1);

    // Asked again: the kept return again, not a second run.
    send(nc, req);
    await until("the second ack", () => acks.length === 2);
    // The same bytes (nats.js hands some messages over as a Buffer, some as a Uint8Array).
    assert.deepEqual([...returns[1]!.data], [...returns[0]!.data]);
    assert.equal(ran, 1);

    // Restarted: it still knows the job, and still has its return.
    await server.stop();
    server = await start();
    send(nc, req);
    await until("the third ack", () => acks.length === 3);
    assert.deepEqual([...returns[2]!.data], [...returns[0]!.data]);
    assert.equal(ran, 1);

    // A job whose deadline passed is not run.
    const late = ksuid();
    send(nc, request(late, "grains.items", { deadline: new Date(Date.now() - 1).toISOString() }));
    await until(
      "the refusal",
      () => lines.some((l) => l.includes("refusing a job past its deadline")),
    );
    assert.equal(ran, 1);

    // A request whose reply subject is not this peel's answer subject is refused: the ack
    // subject it would give the return comes from there.
    for (const reply of [undefined, `master-inbox.${jid}.web-02.answer`]) {
      const before = lines.length;
      nc.publish(subjects.cmd("web-01"), encode({ ...req, jid: ksuid() }), { reply });
      await until(
        "the drop",
        () => lines.slice(before).find((l) => l.includes("dropping malformed command")),
      ).then((l) => assert.match(l, /Invalid reply subject .*expected <ack>\.web-01\.answer/));
    }
    assert.equal(ran, 1);

    // A result MessagePack cannot carry still gets a return: a failed one, saying why.
    withBigInt = true;
    const big = ksuid();
    send(nc, request(big, "grains.get", { args: ["big"] }));
    await until("the fourth ack", () => acks.length === 4);
    assert.equal(acks[3]!.subject, `master-inbox.${big}.web-01.failed`);
    const failed = decode(returns.at(-1)!.data) as ExecReturn;
    assert.equal(failed.success, false);
    assert.match(failed.error ?? "", /^Cannot send the result of grains.get: /);
  } finally {
    await server.stop();
    await closeClient(nc);
  }
});

Deno.test("command server - a job a restart cut short has an unknown outcome, never a second run", async () => {
  await using ns = await startNatsServer();
  await using dir = await tempDir();
  const nc = await client(ns.url);
  await provisionStorage(await nc.jetstreamManager());
  const log = new Logger({ level: "error", sink: () => {} });
  const jid = ksuid();
  const req = request(jid, "cmd.run", { args: ["touch ran"] });
  // What a peel killed mid-job leaves: the job started, never done.
  await Deno.mkdir(`${dir.path}/jobs/returns`, { recursive: true });
  await Deno.writeTextFile(`${dir.path}/jobs/seen`, `S ${jid} ${Date.parse(req.deadline)}\n`);
  let brokerCalls = 0;
  const server = await CommandServer.start({
    nc,
    peelId: "web-01",
    facts: () => ({}),
    broker: { request: () => (brokerCalls++, Promise.resolve({})) },
    log,
    journalDir: `${dir.path}/jobs`,
  });
  const acks: Msg[] = [];
  nc.subscribe("master-inbox.>", { callback: (_e, m) => acks.push(m) });
  await nc.flush();
  try {
    send(nc, req);
    await until("the ack", () => acks.length > 0);
    assert.equal(acks[0]?.subject, `master-inbox.${jid}.web-01.unknown`);
    const kv = await nc.jetstream().views.kv(BUCKETS.jobReturns.name, { bindOnly: true });
    const ret = decode((await kv.get(`${jid}.web-01`))!.value) as ExecReturn;
    assert.equal(ret.outcome, "unknown");
    assert.equal(ret.error, "The peel restarted while running cmd.run; its outcome is unknown");
    assert.equal(brokerCalls, 0, "the command did not run again");
  } finally {
    await server.stop();
    await closeClient(nc);
  }
});

Deno.test("command server - running jobs: still-running answers, cancel, one state run at a time", async () => {
  await using ns = await startNatsServer();
  const nc = await client(ns.url);
  await provisionStorage(await nc.jetstreamManager());
  const log = new Logger({ level: "error", sink: () => {} });
  // A broker whose operations take 1 s, stopped early by their signal.
  const slowBroker: Broker = {
    request: (_op, _args, opts) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => resolve({ changed: false }), 1_000);
        opts?.signal?.addEventListener("abort", () => {
          clearTimeout(t);
          reject(opts.signal!.reason);
        });
      }),
  };
  const server = await CommandServer.start({
    nc,
    peelId: "web-01",
    facts: () => ({}),
    broker: slowBroker,
    log,
  });
  const returns = new Map<string, ExecReturn>();
  nc.subscribe(subjects.jobReturnAll, {
    callback: (_e, m) => {
      const r = decode(m.data) as ExecReturn;
      returns.set(r.jid, r);
    },
  });
  await nc.flush();
  try {
    const sleeper = ksuid();
    const answers: Msg[] = [];
    nc.subscribe(ackReplySubject(`master-inbox.${sleeper}`, "web-01", "answer"), {
      callback: (_e, m) => answers.push(m),
    });
    send(nc, request(sleeper, "test.sleep", { args: [30] }));
    send(nc, request(sleeper, "test.sleep", { args: [30] }));
    await until("the answer", () => answers.length === 1);
    assert.ok(
      isRunningAnswer(answers[0]!.data),
      "asked again, it says it is still running the job",
    );

    const t0 = performance.now();
    nc.publish(subjects.jobCancel(sleeper), encode({ jid: sleeper, user: "alice", time: "" }));
    await until("the canceled return", () => returns.has(sleeper));
    assert.equal(returns.get(sleeper)!.error, "Canceled by alice");
    assert.ok(performance.now() - t0 < 2_000);

    const first = ksuid();
    const second = ksuid();
    const third = ksuid();
    send(nc, request(first, "file.touch", { args: ["/x"] }));
    send(nc, request(second, "state.apply", { args: ["x"] }));
    send(nc, request(third, "file.touch", { args: ["/y"], kwargs: { concurrent: true } }));
    await until(
      "three returns",
      () => returns.has(first) && returns.has(second) && returns.has(third),
    );
    const refused = returns.get(second)!;
    assert.equal(refused.success, false);
    assert.equal(refused.retcode, 1);
    assert.match(
      refused.error ?? "",
      new RegExp(
        `^The function "file.touch" is running as PID \\d+ and was started at \\S+ with jid ${first}$`,
      ),
    );
    for (const jid of [first, third]) {
      const run = returns.get(jid)!.result as { states: { result: boolean }[] };
      assert.equal(run.states.length, 1, `${jid} ran its state`);
    }
  } finally {
    await server.stop();
    await closeClient(nc);
  }
});
