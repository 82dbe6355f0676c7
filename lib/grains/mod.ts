/**
 * Salt's grains as a view of Zester's facts: the names and values Salt's core grains have
 * (`os: Debian`, `os_family: Debian`, `osfinger: Debian-12`, `osmajorrelease: 12`, `osarch:
 * amd64`, `num_cpus`, `mem_total` in MiB, `ipv4`, `fqdn_ip4`, `host`…), computed from the
 * collectors' namespaces (`os`, `kernel`, `network`, `cpu`, `memory`), plus every other fact as
 * it is. A fact given under a grain's own name (custom facts, or `call --local --facts` in Salt's
 * shape) wins over the computed value, unless it is one of Zester's namespaces, which are maps
 * where Salt has a string (`os`, `kernel`).
 * @module
 */

export { factInterfaces, type InterfaceFacts, ipAddrs, type IpAddrsOptions } from "./network.ts";

type Facts = Record<string, unknown>;

const isMap = (v: unknown): v is Facts => typeof v === "object" && v !== null && !Array.isArray(v);

/** Salt's `os` grain for os-release `ID`s whose name Salt spells its own way. */
const OS_NAMES: Record<string, string> = {
  debian: "Debian",
  ubuntu: "Ubuntu",
  raspbian: "Raspbian",
  linuxmint: "Mint",
  rhel: "RedHat",
  centos: "CentOS",
  fedora: "Fedora",
  rocky: "Rocky",
  almalinux: "AlmaLinux",
  ol: "OEL",
  amzn: "Amazon",
  sles: "SUSE",
  opensuse: "openSUSE",
  "opensuse-leap": "Leap",
  "opensuse-tumbleweed": "openSUSE Tumbleweed",
  arch: "Arch",
  manjaro: "Manjaro",
  alpine: "Alpine",
  gentoo: "Gentoo",
  void: "Void",
};

/** Salt's `os_family` for Zester's `os.family`. */
const FAMILIES: Record<string, string> = {
  debian: "Debian",
  redhat: "RedHat",
  suse: "Suse",
  arch: "Arch",
  alpine: "Alpine",
  gentoo: "Gentoo",
};

/** Salt's `osarch` on Debian-family systems (dpkg's names); other families keep the machine's. */
const DPKG_ARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64", i686: "i386" };

/** The release of the Salt formulas' grains this view follows (for `saltversioninfo` checks). */
const SALT_VERSION = [3006, 0];

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function osGrains(os: Facts, kernel: Facts): Facts {
  const id = str(os.platform)?.toLowerCase() ?? "";
  const name = OS_NAMES[id] ?? str(os.name);
  const family = FAMILIES[String(os.family ?? "").toLowerCase()] ?? str(os.family);
  const release = str(os.platform_version) ?? "";
  const info = release.split(".").filter((p) => /^\d+$/.test(p)).map(Number);
  const fullname = (str(os.full_name) ?? name ?? "").replace(/ GNU\/Linux$/, "") ||
    undefined;
  const machine = str(os.arch);
  const out: Facts = {
    os: name,
    os_family: family,
    osfullname: fullname,
    osrelease: release || undefined,
    osrelease_info: info.length ? info : undefined,
    osmajorrelease: info[0],
    oscodename: str(os.codename),
    osarch: machine && family === "Debian" ? DPKG_ARCH[machine] ?? machine : machine,
    cpuarch: machine,
    kernel: str(os.kernel) ?? str(kernel.name),
    kernelrelease: str(os.kernel_release) ?? str(kernel.release),
  };
  // Salt's osfinger: full name and major release (Ubuntu keeps its whole release).
  if (fullname && release) {
    out.osfinger = `${fullname}-${name === "Ubuntu" ? release : info[0] ?? release}`;
  }
  return out;
}

function networkGrains(facts: Facts): Facts {
  const net = isMap(facts.network) ? facts.network : {};
  const fqdn = str(facts.fqdn) ?? str(net.fqdn);
  const hostname = str(facts.hostname) ?? str(net.hostname);
  const host = (fqdn ?? hostname)?.split(".")[0];
  const interfaces = isMap(net.interfaces) ? net.interfaces : {};
  const ip4: Facts = {}, ip6: Facts = {}, hw: Facts = {};
  for (const [name, raw] of Object.entries(interfaces)) {
    const i = isMap(raw) ? raw : {};
    ip4[name] = list(i.ipv4);
    ip6[name] = list(i.ipv6);
    if (str(i.mac)) hw[name] = i.mac;
  }
  return {
    fqdn,
    host,
    nodename: hostname,
    localhost: hostname,
    domain: fqdn?.includes(".") ? fqdn.slice(fqdn.indexOf(".") + 1) : fqdn ? "" : undefined,
    ipv4: list(net.ipv4).length ? list(net.ipv4) : undefined,
    ipv6: list(net.ipv6).length ? list(net.ipv6) : undefined,
    fqdn_ip4: Array.isArray(net.fqdn_ip4) ? list(net.fqdn_ip4) : undefined,
    fqdn_ip6: Array.isArray(net.fqdn_ip6) ? list(net.fqdn_ip6) : undefined,
    ip_interfaces: Object.keys(interfaces).length
      ? Object.fromEntries(
        Object.keys(interfaces).map((n) => [n, [
          ...ip4[n] as string[],
          ...ip6[n] as string[],
        ]]),
      )
      : undefined,
    ip4_interfaces: Object.keys(ip4).length ? ip4 : undefined,
    ip6_interfaces: Object.keys(ip6).length ? ip6 : undefined,
    hwaddr_interfaces: Object.keys(hw).length ? hw : undefined,
  };
}

/** The grains computed from the collectors' namespaces, some undefined. */
function computedGrains(facts: Facts): Facts {
  const os = isMap(facts.os) ? facts.os : {};
  const cpu = isMap(facts.cpu) ? facts.cpu : {};
  const memory = isMap(facts.memory) ? facts.memory : {};
  const total = Number(memory.total);
  return {
    id: facts.id,
    ...osGrains(os, isMap(facts.kernel) ? facts.kernel : {}),
    ...networkGrains(facts),
    num_cpus: typeof cpu.count === "number" ? cpu.count : undefined,
    cpu_model: str(cpu.model),
    mem_total: Number.isFinite(total) && total > 0 ? Math.floor(total / 1024 / 1024) : undefined,
    init: str(facts.init) ?? str(os.init),
    saltversion: SALT_VERSION.join("."),
    saltversioninfo: SALT_VERSION,
  };
}

/**
 * The names of the grains computed from facts; every other grain is the fact of its name as it
 * is, so a target on another name needs no grains.
 */
export const COMPUTED_GRAINS: ReadonlySet<string> = new Set([
  ...Object.keys(computedGrains({})),
  "osfinger",
]);

/** The top-level facts each computed grain is made of. */
const SOURCES = new Map<string, readonly string[]>([
  ...[...Object.keys(osGrains({}, {})), "osfinger"].map((k) => [k, ["os", "kernel"]] as const),
  ...Object.keys(networkGrains({})).map((k) => [k, ["network", "fqdn", "hostname"]] as const),
  ["id", ["id"]],
  ["num_cpus", ["cpu"]],
  ["cpu_model", ["cpu"]],
  ["mem_total", ["memory"]],
  ["init", ["init", "os"]],
]);

/**
 * The top-level facts grain `name` depends on: the fact of its name (which takes its place) and,
 * for a computed grain, those it is made of. The grains of these facts alone have it right.
 */
export function grainFacts(name: string): readonly string[] {
  return [name, ...SOURCES.get(name) ?? []];
}

/** Salt's grains for `facts` (see the module documentation). */
export function saltGrains(facts: Facts): Facts {
  const out: Facts = {};
  for (const [k, v] of Object.entries(computedGrains(facts))) if (v !== undefined) out[k] = v;
  for (const [k, v] of Object.entries(facts)) {
    // Zester's map-shaped namespaces stay facts; Salt's string grain of that name is computed.
    if (Object.hasOwn(out, k) && isMap(v) && !isMap(out[k])) continue;
    out[k] = v;
  }
  return out;
}
