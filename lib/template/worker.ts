/**
 * The template worker: renders what its host sends, with no permissions at all (the host starts it
 * so), over the state tree the host sent, and answers each request once.
 * @module
 */
import type { HostMessage, WorkerMessage } from "./protocol.ts";
import { makeRenderer } from "./render.ts";
import { TemplateError } from "./template_error.ts";

/** The worker's global scope, as far as used here. */
const scope = self as unknown as {
  postMessage(m: WorkerMessage): void;
  onmessage: (e: MessageEvent<HostMessage>) => void;
};

let render = makeRenderer(new Map());

scope.onmessage = async ({ data }: MessageEvent<HostMessage>) => {
  if (data.kind === "tree") {
    render = makeRenderer(data.files);
    return;
  }
  const { id, text, file, context } = data;
  try {
    scope.postMessage({ kind: "rendered", id, output: await render(text, file, context) });
  } catch (e) {
    const err = e instanceof TemplateError ? e : new TemplateError(String(e), file);
    scope.postMessage({ kind: "failed", id, reason: err.reason, file: err.file, line: err.line });
  }
};
