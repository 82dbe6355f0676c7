/**
 * The master's HTTPS listener: TLS 1.3 only, requests handed to a `Request → Response` handler.
 * Built on node:https because `Deno.serve` cannot refuse TLS 1.2 (an `openssl s_client -tls1_2`
 * handshake with it succeeds); node:https takes `minVersion`. Bodies are capped; a handler that
 * throws gets a 500 and the listener keeps serving.
 * @module
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../lib/log/mod.ts";

/** The largest request body read. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Options for {@linkcode serveHttps}. */
export interface HttpsOptions {
  host: string;
  port: number;
  /** Server certificate and key, PEM. */
  cert: string;
  key: string;
  handler: (req: Request) => Promise<Response>;
  log: Logger;
}

/** A running listener. */
export interface HttpsServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/** A JSON response `{"error": message}` with `status`. */
export function errorResponse(status: number, message: string): Response {
  return Response.json({ error: message }, { status });
}

async function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Uint8Array).byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    parts.push(chunk as Uint8Array);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function toResponse(opts: HttpsOptions, req: IncomingMessage): Promise<Response> {
  const body = await readBody(req);
  if (!body) return errorResponse(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === "string") headers.set(k, v);
  }
  let request: Request;
  try {
    request = new Request(new URL(req.url ?? "/", "https://master"), {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
  } catch (e) {
    return errorResponse(400, `Malformed request: ${(e as Error).message}`);
  }
  return await opts.handler(request);
}

async function respond(opts: HttpsOptions, req: IncomingMessage, res: ServerResponse) {
  let response: Response;
  try {
    response = await toResponse(opts, req);
  } catch (e) {
    opts.log.error("enrollment request failed", { path: req.url, error: e });
    response = errorResponse(500, "Internal error");
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(bytes);
}

/** Listen on `opts.host:opts.port` until closed; resolves once listening. */
export async function serveHttps(opts: HttpsOptions): Promise<HttpsServer> {
  const server: Server = createServer(
    { cert: opts.cert, key: opts.key, minVersion: "TLSv1.3" },
    (req, res) => void respond(opts, req, res),
  );
  server.on("tlsClientError", (e) => opts.log.debug("TLS handshake refused", { error: e }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e) => opts.log.error("enrollment listener failed", { error: e }));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
