/**
 * The worker's side of host calls: post the call, block until the host has answered (nunjucks
 * renders synchronously, so the template cannot wait otherwise), take the answer from the port.
 * @module
 */
import { receiveMessageOnPort } from "node:worker_threads";
import type { CallAnswer, CallChannel, HostCall, WorkerMessage } from "./protocol.ts";

/** Runs host calls for render request `id`, posting with `post`, over `channel`. */
export function blockingCaller(
  channel: CallChannel,
  post: (m: WorkerMessage) => void,
  id: number,
): (fn: HostCall, args: unknown[]) => unknown {
  const signal = new Int32Array(channel.signal);
  return (fn, args) => {
    Atomics.store(signal, 0, 0);
    post({ kind: "call", id, fn, args });
    Atomics.wait(signal, 0, 0);
    let got = receiveMessageOnPort(channel.port as never);
    // The host posts before it wakes us; allow the port a moment to deliver.
    for (let i = 0; got === undefined && i < 200; i++) {
      Atomics.wait(signal, 0, 1, 5);
      got = receiveMessageOnPort(channel.port as never);
    }
    if (got === undefined) throw new Error(`${fn}: the host sent no answer`);
    const answer = got.message as CallAnswer;
    if (!answer.ok) throw new Error(answer.error);
    return answer.value;
  };
}
