/**
 * `health_addr`: where a daemon serves `/healthz`, `/readyz` and `/metrics`, as `host:port`
 * (`:9091` is every interface), or `off` (or empty) for no HTTP server at all.
 * @module
 */
import * as s from "../schema/mod.ts";

/** A host and port to listen on. */
export interface ListenAddr {
  /** An IPv4 address, a host name, or an IPv6 address without brackets. */
  hostname: string;
  /** 0 asks the system for a free port. */
  port: number;
}

const ADDR = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/;
const EXPECTED = 'host:port (such as 127.0.0.1:9091), or "off"';

/**
 * The host and port of `addr` in its normalized form (`0.0.0.0:9091` for `:9091`), or
 * `undefined` for `""`, which listens nowhere.
 */
export function listenAddr(addr: string): ListenAddr | undefined {
  if (addr === "") return undefined;
  const m = ADDR.exec(addr);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new TypeError(`Invalid listen address "${addr}"`);
  return { hostname: m[1]!.replace(/^\[|\]$/g, "") || "0.0.0.0", port };
}

/** `a` as `host:port`, an IPv6 host in brackets (`[::1]:9091`), as Deno's `--allow-net` writes it. */
export function formatListenAddr(a: ListenAddr): string {
  return `${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}`;
}

/**
 * A listen address, normalized: `""` when off, else `host:port` as a Deno `--allow-net` grant
 * writes it (`[::1]:9091`).
 */
export function listenAddrSchema(): s.Schema<string> {
  return s.transform(s.string(), (v, path) => {
    const text = v.trim();
    if (text === "" || text === "off") return "";
    try {
      return formatListenAddr(listenAddr(text)!);
    } catch (e) {
      throw new s.SchemaError(path, EXPECTED, v, { cause: e });
    }
  }, EXPECTED);
}
