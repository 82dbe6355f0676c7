/**
 * The `os` and `kernel` facts: distribution from `/etc/os-release`, kernel from Deno.
 * @module
 */

const FAMILIES: Record<string, string> = {
  debian: "debian",
  ubuntu: "debian",
  rhel: "redhat",
  centos: "redhat",
  fedora: "redhat",
  rocky: "redhat",
  almalinux: "redhat",
  ol: "redhat",
  amzn: "redhat",
  sles: "suse",
  opensuse: "suse",
  "opensuse-leap": "suse",
  suse: "suse",
  arch: "arch",
  alpine: "alpine",
};

/** Parse os-release `KEY=value` lines (values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!.trim();
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1).replace(/\\(["'\\$`])/g, "$1");
    out[m[1]!] = v;
  }
  return out;
}

/** The OS family (`debian`, `redhat`, …) from os-release `ID` and `ID_LIKE`. */
export function osFamily(rel: Record<string, string>): string {
  const ids = [rel.ID ?? "", ...(rel.ID_LIKE ?? "").split(/\s+/)].map((s) => s.toLowerCase());
  for (const id of ids) if (FAMILIES[id]) return FAMILIES[id];
  return ids[0] || "unknown";
}

/** Collect `os` and `kernel` facts; `root` prefixes the files read. */
export async function collectOs(root: string): Promise<Record<string, unknown>> {
  const rel = parseOsRelease(await Deno.readTextFile(`${root}etc/os-release`));
  const id = rel.ID ?? "linux";
  const name = rel.NAME?.split(/\s+/)[0] ?? id.charAt(0).toUpperCase() + id.slice(1);
  const release = Deno.osRelease();
  const uptime = Math.floor(Deno.osUptime());
  return {
    os: {
      name,
      ...(rel.NAME ? { full_name: rel.NAME } : {}),
      family: osFamily(rel),
      platform: id,
      platform_version: rel.VERSION_ID ?? "",
      ...(rel.VERSION_CODENAME ? { codename: rel.VERSION_CODENAME } : {}),
      arch: Deno.build.arch,
      kernel: "Linux",
      kernel_release: release,
      uptime,
      boot_time: new Date(Date.now() - uptime * 1000).toISOString(),
    },
    kernel: { name: "Linux", release },
  };
}
