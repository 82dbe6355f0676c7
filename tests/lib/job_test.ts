import assert from "node:assert/strict";
import { encode } from "../../lib/bus/mod.ts";
import { type ExecReturn, ksuid, readReturn } from "../../lib/job/mod.ts";

Deno.test("job - a stored return is read back, and a bad one becomes a failed return naming why", () => {
  const jid = ksuid();
  const ret: ExecReturn = {
    jid,
    peel_id: "web-01",
    fun: "test.ping",
    success: true,
    result: true,
    started: new Date().toISOString(),
    duration_ms: 0.2,
  };
  assert.deepEqual(readReturn(encode(ret), jid, "web-01"), ret);

  const garbage = readReturn(new Uint8Array([0xc1]), jid, "web-01");
  assert.equal(garbage.success, false);
  assert.equal(garbage.peel_id, "web-01");
  assert.match(garbage.error ?? "", /^Malformed return from web-01: Cannot decode message/);

  const wrongShape = readReturn(encode({ ...ret, success: "yes" }), jid, "web-01");
  assert.match(wrongShape.error ?? "", /field "success": expected a boolean/);

  // Stored under web-01's key but claiming to be db-01's: the key, which only web-01 can
  // write, wins.
  const other = readReturn(encode({ ...ret, peel_id: "db-01" }), jid, "web-01");
  assert.equal(other.success, false);
  assert.equal(other.error, `Malformed return from web-01: it is for job ${jid} on db-01`);
});
