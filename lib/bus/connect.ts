/**
 * One way to connect to NATS for the master, the peels and the CLI, with the reconnect defaults
 * of the product's scaling guide and the URL rules of the architecture: `tls://` anywhere,
 * `nats://` only to a loopback address unless the config says `insecure: true`.
 * @module
 */
import {
  connect as natsConnect,
  type ConnectionOptions,
  createInbox,
  DebugEvents,
  Events,
  jwtAuthenticator,
  type NatsConnection,
} from "nats";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { decodeJwt } from "../auth/jwt.ts";
import { CredsError, readCredsFile } from "../auth/creds.ts";
import type { Logger } from "../log/mod.ts";
import { absorbLateSocketErrors } from "./socket_errors.ts";
import { inboxPrefix } from "./subjects.ts";

/** How to reach NATS: what master.yaml, peel.yaml and the CLI config boil down to. */
export interface BusOptions {
  /** Server URLs (`tls://host:4222`, `nats://127.0.0.1:4222`, or `host:port`). */
  servers: string[];
  /** Connection name shown by the server (e.g. `peel-web-01`). */
  name: string;
  /** Path of a NATS `.creds` file (user JWT and nkey seed). */
  credsFile?: string;
  /** CA bundle to verify the server with. */
  caFile?: string;
  /** Client certificate for mutual TLS. */
  certFile?: string;
  /** Client key for mutual TLS. */
  keyFile?: string;
  /** Allow `nats://` to a non-loopback address (logged as a warning). */
  insecure?: boolean;
  /** How long the first connection may take (nats.js defaults to 20 s). */
  connectTimeoutMs?: number;
}

/** The oldest TLS version Zester clients accept. */
export const TLS_MIN_VERSION = "TLSv1.3";

/**
 * Reconnect defaults (product scaling guide): retry forever, 2 s apart plus jitter (500 ms plain,
 * 5 s TLS), ping every 20 s, unhealthy after 3 missed pongs. nats.js has no reconnect-buffer cap
 * option, so the guide's 8 MB buffer is not enforced by the client.
 */
export const RECONNECT_DEFAULTS = {
  maxReconnectAttempts: -1,
  reconnectTimeWait: 2_000,
  reconnectJitter: 500,
  reconnectJitterTLS: 5_000,
  pingInterval: 20_000,
  maxPingOut: 3,
} as const satisfies Partial<ConnectionOptions>;

/** How long {@linkcode closeBus} lets subscriptions drain before closing. */
export const DRAIN_TIMEOUT_MS = 30_000;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/i;

/** Parse one server URL into scheme, host and port; throws `TypeError` naming the URL. */
export function parseServerUrl(
  url: string,
): { scheme: "nats" | "tls"; host: string; port: number } {
  const m = /^(?:([a-z]+):\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/i.exec(url.trim());
  if (!m) throw new TypeError(`Invalid NATS URL "${url}": expected [nats|tls]://host[:port]`);
  const scheme = (m[1] ?? "nats").toLowerCase();
  if (scheme !== "nats" && scheme !== "tls") {
    throw new TypeError(`Invalid NATS URL "${url}": scheme must be tls:// or nats://`);
  }
  const port = m[3] ? Number(m[3]) : 4222;
  if (port < 1 || port > 65535) throw new TypeError(`Invalid NATS URL "${url}": bad port`);
  return { scheme, host: m[2]!, port };
}

/**
 * Check every URL against the TLS rule. Returns the warnings to log; throws `TypeError` for a
 * `nats://` URL to a remote host without `insecure`.
 */
export function checkServerUrls(servers: string[], insecure = false): string[] {
  if (servers.length === 0) throw new TypeError("No NATS server URL configured");
  const warnings: string[] = [];
  for (const url of servers) {
    const { scheme, host } = parseServerUrl(url);
    if (scheme === "tls") continue;
    if (LOOPBACK.test(host)) continue;
    if (!insecure) {
      throw new TypeError(
        `Refusing plain-text NATS URL "${url}": use tls:// or set insecure: true`,
      );
    }
    warnings.push(`plain-text NATS connection to ${url} (insecure: true)`);
  }
  return warnings;
}

/** Connect with Zester's defaults. Reads the creds and TLS files named in `opts`. */
export async function connectBus(opts: BusOptions, log?: Logger): Promise<NatsConnection> {
  absorbLateSocketErrors();
  for (const w of checkServerUrls(opts.servers, opts.insecure)) log?.warn(w);
  const options: ConnectionOptions = {
    ...RECONNECT_DEFAULTS,
    // A server that refuses the creds (revoked, expired) may accept them again after an update.
    ignoreAuthErrorAbort: true,
    // nats.js otherwise captures two stack traces per request (one for a timeout that rarely
    // comes): a fifth of the master's CPU per job in job_rate, where every record write is one.
    noAsyncTraces: true,
    servers: opts.servers.map((u) => u.replace(/^nats:\/\//i, "")),
    name: opts.name,
    ...(opts.connectTimeoutMs ? { timeout: opts.connectTimeoutMs } : {}),
  };
  if (opts.credsFile) {
    const creds = await readCredsFile(opts.credsFile, (m) => log?.warn(m));
    options.authenticator = jwtAuthenticator(creds.jwt, new TextEncoder().encode(creds.seed));
    options.inboxPrefix = inboxPrefix(decodeJwt(creds.jwt).sub);
  }
  const wantsTls = opts.caFile || opts.certFile || opts.keyFile ||
    opts.servers.some((u) => parseServerUrl(u).scheme === "tls");
  if (wantsTls) {
    // nats.js hands its TLS options to node:tls, which takes these too.
    const nodeTls = {
      minVersion: TLS_MIN_VERSION,
      checkServerIdentity: serverIdentityCheck(opts.servers),
    };
    options.tls = {
      ...nodeTls,
      ...(opts.caFile ? { caFile: opts.caFile } : {}),
      ...(opts.certFile ? { certFile: opts.certFile } : {}),
      ...(opts.keyFile ? { keyFile: opts.keyFile } : {}),
    };
  }
  const backoff = new ReconnectBackoff(
    wantsTls ? options.reconnectJitterTLS! : options.reconnectJitter!,
  );
  options.reconnectDelayHandler = () => backoff.delay();
  const nc = await natsConnect(options);
  if (log) watchStatus(nc, log, backoff);
  return nc;
}

/**
 * Gaps between reconnect attempts: the defaults (2 s and jitter) while the server is away,
 * doubling up to {@linkcode CONNECT_RETRY}'s maximum while it refuses the creds (revoked,
 * expired), so that a revoked daemon neither exits nor hammers the server.
 */
class ReconnectBackoff {
  #refusals = 0;
  readonly #jitter: number;

  constructor(jitter: number) {
    this.#jitter = jitter;
  }

  delay(): number {
    const base = RECONNECT_DEFAULTS.reconnectTimeWait;
    const jitter = Math.floor(Math.random() * (this.#jitter + 1));
    return this.#refusals === 0
      ? base + jitter
      : Math.min(base * 2 ** this.#refusals, CONNECT_RETRY.maxMs) + jitter;
  }

  /** The server refused the creds once more; the next gap is longer. */
  refused(): void {
    this.#refusals++;
  }

  /** Connected again. */
  reset(): void {
    this.#refusals = 0;
  }
}

/**
 * nats.js upgrades its socket to TLS without naming the host when the URL holds an IP address,
 * and node:tls then checks the server's certificate against "localhost". The certificate must
 * instead name one of the configured servers.
 */
function serverIdentityCheck(servers: string[]) {
  const hosts = servers.map((u) => parseServerUrl(u).host.replace(/^\[|\]$/g, ""));
  return (_name: string, cert: PeerCertificate): Error | undefined => {
    let err: Error | undefined;
    for (const host of hosts) {
      err = checkServerIdentity(host, cert);
      if (!err) return undefined;
    }
    return err;
  };
}

/** Gaps between connection attempts of a daemon: doubling from 1 s to 30 s. */
export const CONNECT_RETRY = { firstMs: 1_000, maxMs: 30_000 } as const;

/**
 * Connect as a daemon does: when the server cannot be reached or refuses the connection (bad,
 * expired or revoked creds, a refused certificate), log why (`bus: connect to NATS: …`, as the
 * troubleshooting table has it) and try again with growing gaps
 * until connected or `signal` aborts. A mistake in the options themselves (a bad URL, a creds
 * file others can read, a path not granted) is thrown at once.
 */
export async function connectBusRetrying(
  opts: BusOptions,
  log: Logger,
  signal?: AbortSignal,
): Promise<NatsConnection> {
  for (let gap: number = CONNECT_RETRY.firstMs;; gap = Math.min(gap * 2, CONNECT_RETRY.maxMs)) {
    try {
      return await connectBus(opts, log);
    } catch (e) {
      if (e instanceof CredsError) {
        log.error(`bus: load nkey seed: ${e.message}`, { creds: opts.credsFile });
        throw e;
      }
      if (e instanceof TypeError || e instanceof Deno.errors.NotCapable) throw e;
      log.error(`bus: connect to NATS: ${(e as Error).message}`, {
        servers: opts.servers,
        error: (e as Error).message,
        retry_ms: gap,
      });
    }
    await waitOrAbort(gap, signal);
  }
}

/** Wait `ms`; rejects with `signal`'s reason as soon as it aborts (at once if it has). */
export function waitOrAbort(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/**
 * A new inbox subject under the connection's inbox prefix: the only inboxes its user may
 * subscribe to (nats.js's bare `createInbox()` would use `_INBOX`, which the server refuses).
 */
export function newInbox(nc: NatsConnection): string {
  return createInbox((nc as { options?: ConnectionOptions }).options?.inboxPrefix);
}

/** Errors by which the server refuses a connection's creds (the code, or the server's words). */
const REFUSED =
  /AUTHORIZATION_VIOLATION|AUTHENTICATION_EXPIRED|revoked|authorization|authentication/i;

/** The parts of nats.js's protocol handler its public API does not show. */
type ProtocolState = { protocol?: { lastError?: Error; connected?: boolean } };

/**
 * The server's own words for the last error: nats.js reports only a code (a revocation is a
 * bare `NATS_PROTOCOL_ERR`), but keeps the `-ERR` text on its protocol handler.
 */
function lastServerError(nc: NatsConnection): string | undefined {
  return (nc as unknown as ProtocolState).protocol?.lastError?.message;
}

/**
 * Log the connection's life in the words of the product's troubleshooting table, which
 * operators grep for: "disconnected from NATS", "reconnected to NATS", "NATS connection closed"
 * (closed for good, by an error), and "slow consumer" when the server reports one (nats-server
 * usually just drops a slow consumer, which then logs a disconnect). A refusal of the creds
 * (revoked, expired) backs reconnects off.
 */
async function watchStatus(
  nc: NatsConnection,
  log: Logger,
  backoff: ReconnectBackoff,
): Promise<void> {
  for await (const s of nc.status()) {
    const server = String(s.data);
    switch (s.type) {
      case Events.Disconnect:
        log.warn("disconnected from NATS", { server });
        break;
      case Events.Reconnect:
        backoff.reset();
        log.info("reconnected to NATS", { server });
        break;
      case Events.LDM:
        log.warn("NATS server entering lame duck mode", { server });
        break;
      case DebugEvents.StaleConnection:
        log.warn("NATS connection stale: no answer to pings", { server });
        break;
      case Events.Error: {
        if (/slow consumer/i.test(server)) {
          log.warn("slow consumer", { error: server });
          break;
        }
        // A permissions violation does not replace the last error: its text would be stale.
        const reason = s.data === "PERMISSIONS_VIOLATION" ? undefined : lastServerError(nc);
        const refused = REFUSED.test(`${server} ${reason ?? ""}`);
        if (refused) backoff.refused();
        log.error(refused ? "NATS refused this connection's creds, will retry" : "NATS error", {
          error: server,
          ...(reason ? { reason } : {}),
          ...(refused ? { retry_ms: backoff.delay() } : {}),
        });
        break;
      }
    }
  }
  const err = await nc.closed();
  if (err) log.error("NATS connection closed", { error: err.message });
}

/**
 * Drain subscriptions and close, giving up on the drain after {@linkcode DRAIN_TIMEOUT_MS};
 * a connection that is not connected just closes.
 */
export async function closeBus(nc: NatsConnection, timeoutMs = DRAIN_TIMEOUT_MS): Promise<void> {
  if (nc.isClosed()) return;
  // Nothing drains without a server (one that refuses a revoked user, or is away): close.
  if ((nc as unknown as ProtocolState).protocol?.connected === false) return await nc.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs));
  try {
    const r = await Promise.race([nc.drain().then(() => "drained" as const), timeout]);
    if (r === "timeout") await nc.close();
  } catch {
    if (!nc.isClosed()) await nc.close();
  } finally {
    clearTimeout(timer);
  }
}
