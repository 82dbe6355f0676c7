/**
 * JetStream API errors by their codes (nats-server's `err_code`), not by the text of their
 * messages, which the server is free to reword.
 * @module
 */

/** The JetStream API error codes Zester acts on. */
export const JS_ERRORS = {
  /** A stream with that name exists with another configuration. */
  streamNameInUse: 10058,
  /** No stream of that name. */
  streamNotFound: 10059,
  /** The key (subject) is not at the expected revision, e.g. a `kv.create` of a taken key. */
  wrongLastSequence: 10071,
} as const;

/** True when `e` is the JetStream API error `code` (see {@linkcode JS_ERRORS}). */
export function isJsError(e: unknown, code: number): boolean {
  return (e as { api_error?: { err_code?: number } } | null)?.api_error?.err_code === code;
}
