/**
 * `S@` matching: an IPv4 or IPv6 address or CIDR network against a peel's addresses.
 * @module
 */

/** A parsed network: family, address bits and prefix length. */
export interface Network {
  family: 4 | 6;
  bits: bigint;
  prefix: number;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  const addr = s.replace(/%.*$/, "");
  if (!/^[0-9a-fA-F:.]+$/.test(addr) || !addr.includes(":")) return undefined;
  let head = addr;
  let tailV4: bigint | undefined;
  const lastColon = addr.lastIndexOf(":");
  if (addr.slice(lastColon + 1).includes(".")) {
    tailV4 = parseV4(addr.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = addr.slice(0, lastColon) + ":0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(":") : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - left.length - right.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  if (groups.length !== 8) return undefined;
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== undefined) n = (n & ~0xffffffffn) | tailV4;
  return n;
}

/** Parse an address; `undefined` when it is neither IPv4 nor IPv6. */
export function parseAddress(s: string): { family: 4 | 6; bits: bigint } | undefined {
  const v4 = parseV4(s);
  if (v4 !== undefined) return { family: 4, bits: v4 };
  const v6 = parseV6(s);
  return v6 === undefined ? undefined : { family: 6, bits: v6 };
}

/** Parse `addr` or `addr/prefix`; `undefined` when invalid. */
export function parseNetwork(s: string): Network | undefined {
  const [addr, prefixText, extra] = s.split("/");
  if (extra !== undefined || !addr) return undefined;
  const a = parseAddress(addr);
  if (!a) return undefined;
  const width = a.family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (prefix > width) return undefined;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(width - prefix);
  return { family: a.family, bits: a.bits & mask, prefix };
}

/** True when address `addr` lies in `net`. */
export function inNetwork(net: Network, addr: string): boolean {
  const a = parseAddress(addr);
  if (!a || a.family !== net.family) return false;
  const width = net.family === 4 ? 32 : 128;
  const shift = BigInt(width - net.prefix);
  return net.prefix === 0 || (a.bits >> shift) === (net.bits >> shift);
}
