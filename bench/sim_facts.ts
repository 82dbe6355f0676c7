/**
 * Realistic facts for simulated peels (about 2 KB each), varied by id so that fact targeting has
 * something to select on.
 * @module
 */

const OSES = [
  { name: "Debian", family: "debian", platform: "debian", platform_version: "12" },
  { name: "Ubuntu", family: "debian", platform: "ubuntu", platform_version: "24.04" },
  { name: "Rocky", family: "redhat", platform: "rocky", platform_version: "9.4" },
];
const ROLES = ["web", "db", "cache", "worker", "lb"];
const DCS = ["eu-west", "eu-central", "us-east", "us-west"];

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The facts of simulated peel `id`. */
export function simulatedFacts(id: string): Record<string, unknown> {
  const h = hash(id);
  const os = OSES[h % OSES.length]!;
  const a = (h >>> 8) & 255;
  const b = (h >>> 16) & 255;
  return {
    id,
    hostname: id,
    fqdn: `${id}.example.net`,
    role: ROLES[(h >>> 4) % ROLES.length],
    datacenter: DCS[(h >>> 12) % DCS.length],
    os: {
      ...os,
      arch: "x86_64",
      kernel: "Linux",
      kernel_release: "6.1.0-21-amd64",
      uptime: h % 1e6,
    },
    kernel: { name: "Linux", release: "6.1.0-21-amd64" },
    cpu: { count: 2 + (h % 4) * 2, model: "AMD EPYC 7B13", physical_count: 1 + (h % 4) },
    memory: {
      total: (4 + (h % 8) * 4) * 2 ** 30,
      free: 2 ** 30,
      available: 2 ** 31,
      used_percent: 42.5,
    },
    network: {
      hostname: id,
      fqdn: `${id}.example.net`,
      interfaces: {
        lo: { ipv4: ["127.0.0.1"], ipv6: ["::1"], mac: "00:00:00:00:00:00" },
        eth0: {
          ipv4: [`10.${a}.${b}.${h % 250 + 2}`],
          ipv6: [`fd00::${a}:${b}`],
          mac: "02:42:ac:11:00:02",
        },
      },
      ipv4: ["127.0.0.1", `10.${a}.${b}.${h % 250 + 2}`],
      ipv6: ["::1", `fd00::${a}:${b}`],
      ip_addrs: [`10.${a}.${b}.${h % 250 + 2}`, `fd00::${a}:${b}`],
    },
    disk: {
      mounts: [
        {
          device: "/dev/vda1",
          fstype: "ext4",
          mountpoint: "/",
          size_bytes: 107374182400,
          used_bytes: 32212254720,
          available_bytes: 75161927680,
          used_percent: 30,
        },
        {
          device: "/dev/vdb",
          fstype: "xfs",
          mountpoint: "/var/lib/data",
          size_bytes: 536870912000,
          used_bytes: 107374182400,
          available_bytes: 429496729600,
          used_percent: 20,
        },
      ],
    },
    load: { "1m": 0.12, "5m": 0.2, "15m": 0.18 },
    services: Object.fromEntries(
      [
        "sshd",
        "cron",
        "rsyslog",
        "chronyd",
        "nginx",
        "node_exporter",
        "zester-peel",
        "systemd-journald",
      ]
        .map((
          name,
          i,
        ) => [name, { state: "running", enabled: true, pid: 100 + ((h >>> i) % 30000) }]),
    ),
    tags: ["managed", "zester", `rack-${h % 40}`, `tier-${h % 3}`],
    packages: Object.fromEntries(
      [
        "openssl",
        "nginx",
        "postgresql",
        "redis",
        "python3",
        "curl",
        "git",
        "vim",
        "htop",
        "jq",
        "systemd",
        "openssh-server",
        "rsyslog",
        "cron",
        "sudo",
        "tar",
        "gzip",
        "bash",
        "coreutils",
        "util-linux",
        "iproute2",
        "iptables",
        "ca-certificates",
        "tzdata",
        "libc6",
        "libssl3",
        "zlib1g",
        "lsb-release",
        "procps",
        "less",
        "rsync",
        "chrony",
        "logrotate",
        "unattended-upgrades",
        "apt",
        "dpkg",
        "gnupg",
        "wget",
        "net-tools",
        "dnsutils",
      ]
        .map((p, i) => [p, `${1 + (h + i) % 9}.${(h >>> i) % 20}.${i}`]),
    ),
  };
}
