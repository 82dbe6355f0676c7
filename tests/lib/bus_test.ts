import assert from "node:assert/strict";
import {
  ackOfRequest,
  ackReplySubject,
  checkServerUrls,
  CodecError,
  decode,
  encode,
  parseFactSubject,
  parseReturnAckSubject,
  parseReturnSubject,
  parseServerUrl,
  returnAckSubject,
  returnReplySubject,
  subjects,
} from "../../lib/bus/mod.ts";
import { ksuid, ksuidTime } from "../../lib/job/mod.ts";

Deno.test("bus - a request's ack subject is read back from its reply subject, and only that peel's", () => {
  const ack = "_INBOX.abc.2QkRzOUqMeBDcE0dYJa3sIRhRWq.0123456789abcdef";
  assert.equal(ackOfRequest(ackReplySubject(ack, "web-01", "answer"), "web-01"), ack);
  const refused: [string | undefined, string][] = [
    [undefined, "web-01"],
    ["", "web-01"],
    [ackReplySubject(ack, "web-01", "answer"), "web-02"],
    [ackReplySubject(ack, "web-01", "answer"), "b-01"],
    [ackReplySubject(ack, "web-01", "ok"), "web-01"],
    [`${ack}.>.web-01.answer`, "web-01"],
    [`${ack}..web-01.answer`, "web-01"],
    [`${"a".repeat(201)}.web-01.answer`, "web-01"],
  ];
  for (const [reply, peel] of refused) {
    assert.equal(ackOfRequest(reply, peel), undefined, `${reply} for ${peel}`);
  }
});

Deno.test("bus - subjects are built from validated ids", () => {
  const jid = ksuid();
  assert.equal(subjects.cmd("web-01"), "zester.cmd.web-01");
  assert.equal(subjects.jobReturn(jid, "db_1"), `$KV.job-returns.${jid}.db_1`);
  assert.throws(() => subjects.cmd("web.01"), /Invalid peel id "web.01"/);
  assert.throws(() => subjects.cmd("*"), /Invalid peel id/);
  assert.throws(() => subjects.cmd("a b"), /Invalid peel id/);
  assert.throws(() => subjects.jobStatus("x>"), /Invalid job id/);
  assert.deepEqual(parseReturnSubject(`$KV.job-returns.${jid}.web-01`), {
    jid,
    peelId: "web-01",
  });
  assert.equal(parseReturnSubject(`zester.job.${jid}.status`), undefined);
  assert.equal(parseReturnSubject(`$KV.jobs.${jid}.web-01`), undefined);
  assert.equal(parseReturnSubject(`$KV.job-returns.${jid}.web.01`), undefined);
  const ack = returnAckSubject("_INBOX.abc", jid, "00ff00ff00ff00ff");
  assert.equal(ack, `_INBOX.abc.${jid}.00ff00ff00ff00ff`);
  const reply = returnReplySubject(ack, "web-01", false);
  assert.equal(reply, `${ack}.web-01.failed`);
  assert.deepEqual(parseReturnAckSubject("_INBOX.abc", reply), {
    jid,
    token: "00ff00ff00ff00ff",
    peelId: "web-01",
    kind: "failed",
  });
  assert.equal(
    parseReturnAckSubject("_INBOX.abc", returnReplySubject(ack, "web-01", true))?.kind,
    "ok",
  );
  for (const kind of ["unknown", "answer"] as const) {
    const subject = ackReplySubject(ack, "web-01", kind);
    assert.equal(parseReturnAckSubject("_INBOX.abc", subject)?.kind, kind);
  }
  assert.equal(parseReturnAckSubject("_INBOX.abd", reply), undefined);
  assert.equal(parseReturnAckSubject("_INBOX.abc", `${ack}.web-01`), undefined);
  assert.equal(parseReturnAckSubject("_INBOX.abc", `${ack}.web-01.maybe`), undefined);
  assert.throws(() => returnAckSubject("_INBOX.abc", "*", "00ff00ff00ff00ff"), /Invalid job id/);
  assert.throws(() => returnAckSubject("_INBOX.abc", jid, "x.>"), /Invalid ack token "x.>"/);
  assert.equal(parseFactSubject("zester.fact.web-01"), "web-01");
  assert.equal(parseFactSubject("zester.fact.-x"), undefined);
});

Deno.test("bus - codec round-trips and rejects garbage", () => {
  const v = { a: 1, b: "x", c: [true, null], d: new Uint8Array([1, 2]), e: undefined };
  assert.deepEqual(decode(encode(v)), { a: 1, b: "x", c: [true, null], d: new Uint8Array([1, 2]) });
  assert.throws(() => decode(new Uint8Array()), CodecError);
  assert.throws(() => decode(new Uint8Array([0xc1])), CodecError);
  assert.throws(() => decode(new TextEncoder().encode('{"json": true}')), CodecError);
});

Deno.test("bus - NATS URLs: tls anywhere, plain only on loopback unless insecure", () => {
  assert.deepEqual(parseServerUrl("tls://nats:4222"), { scheme: "tls", host: "nats", port: 4222 });
  assert.deepEqual(parseServerUrl("127.0.0.1:5000"), {
    scheme: "nats",
    host: "127.0.0.1",
    port: 5000,
  });
  assert.deepEqual(checkServerUrls(["nats://127.0.0.1:4222", "tls://n1:4222"]), []);
  assert.throws(() => checkServerUrls(["nats://10.1.2.3:4222"]), /Refusing plain-text NATS URL/);
  assert.equal(checkServerUrls(["nats://10.1.2.3:4222"], true).length, 1);
  assert.throws(() => parseServerUrl("http://x:1"), /scheme must be tls:\/\/ or nats:\/\//);
  assert.throws(() => checkServerUrls([]), /No NATS server URL/);
});

Deno.test("job - KSUIDs are 27 base62 chars, unique and time-sortable", () => {
  const a = ksuid(Date.parse("2026-01-01T00:00:00Z"));
  const b = ksuid(Date.parse("2026-01-01T00:00:05Z"));
  assert.match(a, /^[0-9A-Za-z]{27}$/);
  assert.ok(a < b);
  assert.equal(ksuidTime(a), Date.parse("2026-01-01T00:00:00Z"));
  const many = new Set(Array.from({ length: 1000 }, () => ksuid()));
  assert.equal(many.size, 1000);
});
