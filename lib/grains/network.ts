/**
 * Salt's `network.ip_addrs` and `network.ip_addrs6` computed from the `network` facts, shared by
 * templates (`salt['network.ip_addrs']`) and the peel's execution function of the same name.
 * @module
 */
import { inNetwork, parseNetwork } from "../target/ip.ts";

type Facts = Record<string, unknown>;

/** One interface of the `network.interfaces` facts. */
export interface InterfaceFacts {
  ipv4: string[];
  ipv6: string[];
  mac?: string;
}

/** Salt's arguments of `network.ip_addrs`. */
export interface IpAddrsOptions {
  /** Only this interface's addresses. */
  interface?: string;
  /** Keep `127.*` and `::1`. */
  include_loopback?: boolean;
  /** Only addresses inside this network (`10.0.0.0/8`). */
  cidr?: string;
  /** `private` or `public`: only addresses of that kind. */
  type?: string;
}

const isMap = (v: unknown): v is Facts => typeof v === "object" && v !== null && !Array.isArray(v);

const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"].map((n) =>
  parseNetwork(n)!
);

/** The interfaces in `facts.network.interfaces`, by name. */
export function factInterfaces(facts: Facts): [string, InterfaceFacts][] {
  const net = isMap(facts.network) ? facts.network : {};
  const list = isMap(net.interfaces) ? net.interfaces : {};
  return Object.entries(list).map(([name, raw]) => {
    const i = isMap(raw) ? raw : {};
    const addrs = (v: unknown) => Array.isArray(v) ? v.map(String) : [];
    return [name, { ipv4: addrs(i.ipv4), ipv6: addrs(i.ipv6), mac: i.mac as string | undefined }];
  });
}

/**
 * The peel's `family` addresses, as Salt's `network.ip_addrs` (`ipv4`) and `network.ip_addrs6`
 * (`ipv6`) list them: without loopback unless asked, each once. Throws `TypeError` for a `cidr`
 * that is not a network or a `type` other than `private` or `public`.
 */
export function ipAddrs(
  facts: Facts,
  family: "ipv4" | "ipv6",
  opts: IpAddrsOptions = {},
): string[] {
  const net = opts.cidr ? parseNetwork(opts.cidr) : undefined;
  if (opts.cidr && !net) throw new TypeError(`Invalid cidr "${opts.cidr}": expected a network`);
  if (opts.type && opts.type !== "private" && opts.type !== "public") {
    throw new TypeError(`Invalid type "${opts.type}": expected private or public`);
  }
  const out: string[] = [];
  for (const [name, i] of factInterfaces(facts)) {
    if (opts.interface && name !== opts.interface) continue;
    for (const a of i[family]) {
      const isLoop = a === "::1" || a.startsWith("127.");
      if (isLoop && !opts.include_loopback) continue;
      if (net && !inNetwork(net, a)) continue;
      const isPrivate = PRIVATE.some((p) => inNetwork(p, a));
      if (opts.type === "private" && !isPrivate || opts.type === "public" && isPrivate) continue;
      if (!out.includes(a)) out.push(a);
    }
  }
  return out;
}
