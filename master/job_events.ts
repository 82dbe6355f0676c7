/**
 * The job lifecycle as the masters tell it: every transition, the targets found not connected,
 * dispatches and cancels, published under `zester.job.<jid>.*` for whoever follows a job live
 * and stored by the `job-events` stream, whose confirmation each publish waits for.
 * @module
 */
import type { NatsConnection } from "nats";
import { AckedPublisher, encode, subjects } from "../lib/bus/mod.ts";
import {
  type AbsentEvent,
  type CancelEvent,
  IDS_PER_CHUNK,
  type Job,
  type JobStatusEvent,
} from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";

/** Publishes a master's job events; a publish that fails is logged, never thrown. */
export class JobEvents {
  readonly #pub: AckedPublisher;
  readonly #log: Logger;

  /** Publish on `nc`, logging failures to `log`. */
  constructor(nc: NatsConnection, log: Logger) {
    this.#pub = new AckedPublisher(nc);
    this.#log = log;
  }

  /** Job `job` reached its current status, with `returned` of its targets' returns stored. */
  status(job: Job, returned = 0): Promise<void> {
    const ev: JobStatusEvent = {
      jid: job.jid,
      status: job.status,
      returned,
      expected: job.targets.length,
      owner: job.owner,
      ...(job.epoch === undefined ? {} : { epoch: job.epoch }),
      time: job.updated,
    };
    return this.#publish(subjects.jobStatus(job.jid), ev);
  }

  /** `peels`, targets of `jid`, were not connected when it was sent to them. */
  async absent(jid: string, peels: string[]): Promise<void> {
    const time = new Date().toISOString();
    for (let i = 0; i < peels.length; i += IDS_PER_CHUNK) {
      const ev: AbsentEvent = { jid, peels: peels.slice(i, i + IDS_PER_CHUNK), time };
      await this.#publish(subjects.jobAbsent(jid), ev);
    }
  }

  /** The ExecRequests of `job` went out from `master`. */
  dispatched(job: Job, master: string): Promise<void> {
    return this.#publish(subjects.jobDispatched(job.jid), {
      jid: job.jid,
      target_count: job.targets.length,
      master,
      time: new Date().toISOString(),
    });
  }

  /** `user` canceled job `jid`. */
  cancel(jid: string, user: string): Promise<void> {
    const ev: CancelEvent = { jid, user, time: new Date().toISOString() };
    return this.#publish(subjects.jobCancel(jid), ev);
  }

  /** Stop; events not yet confirmed fail. */
  close(): void {
    this.#pub.close();
  }

  async #publish(subject: string, value: unknown): Promise<void> {
    try {
      await this.#pub.publish(subject, encode(value));
    } catch (e) {
      this.#log.error("cannot record job event", { subject, error: e });
    }
  }
}
