/**
 * A socket that nats.js has let go can still report an error: with TLS 1.3 the server's refusal
 * of a client certificate or credentials (`BadCertificate`, a reset) arrives after the handshake
 * callback, where nats.js has already removed every listener. An `error` event nobody listens
 * to is thrown as an uncaught exception, which would end the process — a master, a peel or the
 * CLI killed by the server refusing it. Once installed, a socket stripped of all its listeners
 * keeps one that drops such late errors; nats.js still sees the connection close and reports
 * (or retries) the refusal itself.
 * @module
 */
import { Socket } from "node:net";

let installed = false;

function ignore(): void {}

/** Keep abandoned sockets from throwing late errors (once per process). */
export function absorbLateSocketErrors(): void {
  if (installed) return;
  installed = true;
  const removeAll = Socket.prototype.removeAllListeners;
  Socket.prototype.removeAllListeners = function (
    this: Socket,
    ...args: Parameters<Socket["removeAllListeners"]>
  ) {
    const out = removeAll.apply(this, args);
    if (args[0] === undefined || args[0] === "error") this.on("error", ignore);
    return out;
  };
}
