/**
 * The daemons' local HTTP endpoints: `/healthz` (alive: status, component, version),
 * `/readyz` (the readiness checks, 200 or 503) and `/metrics` (Prometheus text format).
 * @module
 */
import type { Logger } from "../log/mod.ts";
import { formatListenAddr, type ListenAddr } from "../config/listen.ts";
import { registry } from "../metrics/mod.ts";
import { type Check, readiness } from "./readiness.ts";

/** What a health server serves. */
export interface HealthServerOptions {
  /** Where to listen (port 0: a free one, see {@linkcode HealthServer.addr}). */
  addr: ListenAddr;
  /** `master` or `peel`. */
  component: string;
  /** The version `/healthz` reports. */
  version: string;
  /** Where the listening address is logged. */
  log: Logger;
}

/** The health address cannot be listened on (taken, not granted, not local). */
export class HealthServerError extends Error {
  /** Build the error for `addr`, keeping the listen error as `cause`. */
  constructor(addr: ListenAddr, options: ErrorOptions) {
    const why = (options.cause as Error)?.message ?? String(options.cause);
    super(
      `Cannot serve health endpoints on health_addr "${formatListenAddr(addr)}": ${why}`,
      options,
    );
    this.name = "HealthServerError";
  }
}

const JSON_HEADERS = { "content-type": "application/json" };

/** A running health server; its readiness checks are set when the daemon has its parts. */
export class HealthServer {
  /** The readiness checks; none (while starting) reads as `down`. */
  checks: readonly Check[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #healthz: string;

  /** Listen on `opts.addr`; throws {@linkcode HealthServerError} when it cannot. */
  constructor(opts: HealthServerOptions) {
    this.#healthz = JSON.stringify({
      status: "ok",
      component: opts.component,
      version: opts.version,
    });
    try {
      this.#server = Deno.serve({
        hostname: opts.addr.hostname,
        port: opts.addr.port,
        onListen: () => {},
      }, (req) => this.#handle(req));
    } catch (e) {
      throw new HealthServerError(opts.addr, { cause: e });
    }
    opts.log.info("health endpoints listening", { addr: formatListenAddr(this.addr) });
  }

  /** The address listened on. */
  get addr(): ListenAddr {
    return { hostname: this.#server.addr.hostname, port: this.#server.addr.port };
  }

  /** Stop listening. */
  async stop(): Promise<void> {
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    switch (new URL(req.url).pathname) {
      case "/healthz":
        return new Response(this.#healthz, { headers: JSON_HEADERS });
      case "/readyz": {
        const r = await readiness(this.checks);
        return new Response(JSON.stringify(r), {
          status: r.status === "down" ? 503 : 200,
          headers: JSON_HEADERS,
        });
      }
      case "/metrics":
        return new Response(await registry.metrics(), {
          headers: { "content-type": registry.contentType },
        });
      default:
        return new Response("Not found: try /healthz, /readyz or /metrics\n", { status: 404 });
    }
  }
}
