/**
 * The template worker: renders what its host sends, with no permissions at all (the host starts it
 * so), over the trees the host sent, and answers each request once. Host calls (commands and
 * files, through the broker) go over the channel the host sent first.
 * @module
 */
import process from "node:process";
import { blockingCaller } from "./host_call.ts";
import type { CallChannel, HostMessage, WorkerMessage } from "./protocol.ts";
import { makeRenderer } from "./render.ts";
import { TemplateError } from "./template_error.ts";

/** The worker's global scope, as far as used here. */
const scope = self as unknown as {
  postMessage(m: WorkerMessage): void;
  onmessage: (e: MessageEvent<HostMessage>) => void;
};
const post = (m: WorkerMessage) => scope.postMessage(m);

// npm:yaml reads two debug switches from the environment on every parse; the worker may read
// no environment at all, so it gets an empty one.
Object.defineProperty(process, "env", { value: {}, configurable: true });

const trees = new Map<string, ReturnType<typeof makeRenderer>>();
let channel: CallChannel | undefined;

scope.onmessage = async ({ data }: MessageEvent<HostMessage>) => {
  if (data.kind === "channel") {
    channel = data.channel;
    post({ kind: "ready" });
    return;
  }
  if (data.kind === "tree") {
    for (const key of data.drop) trees.delete(key);
    trees.set(data.key, makeRenderer(data.files));
    return;
  }
  const { id, text, file, context } = data;
  const call = blockingCaller(channel!, post, id);
  try {
    const render = trees.get(data.tree);
    if (!render) throw new TemplateError(`no tree "${data.tree}" in the template worker`, file);
    post({ kind: "rendered", id, output: await render(text, file, context, call) });
  } catch (e) {
    const err = e instanceof TemplateError ? e : new TemplateError(String(e), file);
    post({ kind: "failed", id, reason: err.reason, file: err.file, line: err.line });
  }
};
