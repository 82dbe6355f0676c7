/**
 * The `network`, `hostname` and `fqdn` facts: interfaces and addresses from Deno, the FQDN from
 * `/etc/hosts` (the peel has no DNS permission).
 * @module
 */

/** The first dotted name on an `/etc/hosts` line that lists `hostname`, else `hostname`. */
export function fqdnFromHosts(hostname: string, hosts: string): string {
  if (hostname.includes(".")) return hostname;
  for (const raw of hosts.split("\n")) {
    const names = raw.replace(/#.*/, "").trim().split(/\s+/).slice(1);
    if (names.includes(hostname)) {
      const dotted = names.find((n) => n.includes(".") && n.split(".")[0] === hostname);
      if (dotted) return dotted;
    }
  }
  return hostname;
}

/** The addresses `/etc/hosts` gives `name` (the peel resolves no names through DNS). */
export function hostsAddresses(name: string, hosts: string): { ipv4: string[]; ipv6: string[] } {
  const out = { ipv4: [] as string[], ipv6: [] as string[] };
  for (const raw of hosts.split("\n")) {
    const [address, ...names] = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (!address || !names.includes(name)) continue;
    const list = address.includes(":") ? out.ipv6 : out.ipv4;
    if (!list.includes(address)) list.push(address);
  }
  return out;
}

/** Collect network facts; `root` prefixes `/etc/hosts`. */
export async function collectNetwork(root: string): Promise<Record<string, unknown>> {
  const hostname = Deno.hostname();
  let hosts = "";
  try {
    hosts = await Deno.readTextFile(`${root}etc/hosts`);
  } catch { /* no hosts file: the FQDN is the hostname */ }
  const fqdn = fqdnFromHosts(hostname, hosts);
  const interfaces: Record<string, { ipv4: string[]; ipv6: string[]; mac: string }> = {};
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  const ipAddrs: string[] = [];
  for (const ni of Deno.networkInterfaces()) {
    const entry = interfaces[ni.name] ??= { ipv4: [], ipv6: [], mac: ni.mac };
    const address = ni.address.replace(/%.*$/, "");
    const loopback = address === "::1" || address.startsWith("127.");
    if (ni.family === "IPv4") {
      entry.ipv4.push(address);
      ipv4.push(address);
    } else {
      entry.ipv6.push(address);
      ipv6.push(address);
    }
    if (!loopback) ipAddrs.push(address);
  }
  const named = hostsAddresses(fqdn, hosts);
  return {
    hostname,
    fqdn,
    network: {
      hostname,
      fqdn,
      interfaces,
      ipv4,
      ipv6,
      ip_addrs: ipAddrs,
      fqdn_ip4: named.ipv4,
      fqdn_ip6: named.ipv6,
    },
  };
}
