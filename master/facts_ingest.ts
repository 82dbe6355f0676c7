/**
 * Takes fact snapshots that peels publish on `zester.fact.<peel-id>` and stores them in the
 * `facts` bucket. One master in the queue group handles each; the reply tells the peel its
 * facts are stored, so a peel keeps retrying until one is. The reply waits until this master's
 * index, which follows the bucket, has them too: a job sent right after a peel's first facts
 * finds the peel.
 * @module
 */
import type { NatsConnection, Subscription } from "nats";
import {
  AckedPublisher,
  BUCKETS,
  encode,
  kvSubject,
  MASTER_QUEUE,
  parseFactSubject,
  serve,
  subjects,
} from "../lib/bus/mod.ts";
import { FactsMessage } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import type { FactIndex } from "./fact_index.ts";
import { factsStored } from "./metrics.ts";

/** How long a reply waits for the index before it goes out anyway (the facts are stored). */
const INDEX_WAIT_MS = 5_000;

/**
 * Serve fact ingestion until the connection drains; `stored` hears of each peel whose facts
 * were stored (enrollment marks an enrolled peel active).
 */
export function serveFactIngest(
  nc: NatsConnection,
  index: FactIndex,
  log: Logger,
  stored?: (peelId: string) => Promise<void>,
): Subscription {
  const store = new AckedPublisher(nc);
  return serve(nc, {
    subject: subjects.factAll,
    queue: MASTER_QUEUE,
    schema: FactsMessage,
    log,
    handle: async (msg, raw) => {
      const fromSubject = parseFactSubject(raw.subject);
      if (fromSubject !== msg.peel_id) {
        throw new Error(
          `Facts for "${msg.peel_id}" arrived on ${raw.subject}: a peel may only send its own`,
        );
      }
      const revision = await store.publish(kvSubject(BUCKETS.facts.name, msg.peel_id), encode(msg));
      factsStored();
      if (!await index.reached(revision, INDEX_WAIT_MS)) {
        log.warn("facts stored, but the index has not caught up", { peel_id: msg.peel_id });
      }
      log.debug("facts stored", { peel_id: msg.peel_id });
      await stored?.(msg.peel_id).catch((e) =>
        log.warn("cannot record the peel as connected", { peel_id: msg.peel_id, error: e })
      );
      return { ok: true };
    },
  });
}
