/** Reading the job records a master stores. */
import assert from "node:assert/strict";
import type { NatsConnection } from "nats";
import { BUCKETS } from "../../lib/bus/mod.ts";
import { type Job, readJob } from "../../lib/job/mod.ts";

/** Job `jid`'s record in the `jobs` bucket; fails when there is none. */
export async function jobOf(nc: NatsConnection, jid: string): Promise<Job> {
  const kv = await nc.jetstream().views.kv(BUCKETS.jobs.name, { bindOnly: true });
  const job = await readJob(kv, jid);
  assert.ok(job, `job ${jid} in the ${BUCKETS.jobs.name} bucket`);
  return job;
}
