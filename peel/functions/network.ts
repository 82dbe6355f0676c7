/**
 * `network.ip_addrs` and `network.ip_addrs6`: this peel's addresses from its `network` facts,
 * with Salt's arguments (`interface`, `include_loopback`, `cidr`, `type`), as the basket
 * publishes them by default.
 * @module
 */
import { ipAddrs, type IpAddrsOptions } from "../../lib/grains/mod.ts";
import { ArgumentError, type ExecFunction } from "./context.ts";

const PARAMS = ["interface", "include_loopback", "cidr", "type"] as const;

function addrs(fun: string, family: "ipv4" | "ipv6"): ExecFunction {
  return (ctx, args, kwargs) => {
    const v = (i: number) => args[i] ?? kwargs[PARAMS[i]!];
    const str = (i: number) => v(i) === undefined || v(i) === null ? undefined : String(v(i));
    const opts: IpAddrsOptions = {
      interface: str(0),
      include_loopback: v(1) === true,
      cidr: str(2),
      type: str(3),
    };
    try {
      return Promise.resolve({ result: ipAddrs(ctx.facts(), family, opts) });
    } catch (e) {
      throw new ArgumentError(`${fun}: ${(e as Error).message}`);
    }
  };
}

/** `network.ip_addrs [interface] [include_loopback=False] [cidr] [type]`: IPv4 addresses. */
export const ipAddrs4: ExecFunction = addrs("network.ip_addrs", "ipv4");

/** `network.ip_addrs6 [interface] [include_loopback=False] [cidr] [type]`: IPv6 addresses. */
export const ipAddrs6: ExecFunction = addrs("network.ip_addrs6", "ipv6");
