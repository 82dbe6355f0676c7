/** Salt's grains as a view of Zester's facts. */
import assert from "node:assert/strict";
import { COMPUTED_GRAINS, grainFacts, saltGrains } from "../../lib/grains/mod.ts";

const debianFacts = {
  id: "web-01",
  hostname: "web-01",
  fqdn: "web-01.example.net",
  os: {
    name: "Debian",
    full_name: "Debian GNU/Linux",
    family: "debian",
    platform: "debian",
    platform_version: "12",
    codename: "bookworm",
    arch: "x86_64",
    kernel: "Linux",
    kernel_release: "6.1.0-18-amd64",
    init: "systemd",
  },
  kernel: { name: "Linux", release: "6.1.0-18-amd64" },
  network: {
    interfaces: { eth0: { ipv4: ["10.0.0.5"], ipv6: ["fe80::1"], mac: "52:54:00:12:34:56" } },
    ipv4: ["127.0.0.1", "10.0.0.5"],
    ipv6: ["::1", "fe80::1"],
    fqdn_ip4: ["10.0.0.5"],
    fqdn_ip6: [],
  },
  cpu: { count: 4, model: "QEMU" },
  memory: { total: 8 * 1024 ** 3 },
  role: "web",
};

Deno.test("grains - Salt's core grains from the collectors' facts", () => {
  const g = saltGrains(debianFacts);
  assert.deepEqual(
    [g.os, g.os_family, g.osfullname, g.osfinger, g.osrelease, g.osmajorrelease, g.oscodename],
    ["Debian", "Debian", "Debian", "Debian-12", "12", 12, "bookworm"],
  );
  assert.deepEqual([g.osarch, g.cpuarch, g.kernel, g.kernelrelease, g.init], [
    "amd64",
    "x86_64",
    "Linux",
    "6.1.0-18-amd64",
    "systemd",
  ]);
  assert.deepEqual([g.num_cpus, g.cpu_model, g.mem_total], [4, "QEMU", 8192]);
  assert.deepEqual([g.id, g.host, g.fqdn, g.domain, g.nodename], [
    "web-01",
    "web-01",
    "web-01.example.net",
    "example.net",
    "web-01",
  ]);
  assert.deepEqual([g.ipv4, g.fqdn_ip4, g.fqdn_ip6], [["127.0.0.1", "10.0.0.5"], ["10.0.0.5"], []]);
  assert.deepEqual(g.ip4_interfaces, { eth0: ["10.0.0.5"] });
  assert.deepEqual(g.hwaddr_interfaces, { eth0: "52:54:00:12:34:56" });
  assert.equal(g.role, "web", "other facts are grains as they are");
  assert.deepEqual(g.network, debianFacts.network, "namespaces without a grain of their name stay");
});

Deno.test("grains - other distributions: Ubuntu's osfinger, RedHat's family and arch", () => {
  const ubuntu = saltGrains({
    os: { platform: "ubuntu", family: "debian", platform_version: "22.04", arch: "aarch64" },
  });
  assert.deepEqual([ubuntu.os, ubuntu.osfinger, ubuntu.osmajorrelease, ubuntu.osarch], [
    "Ubuntu",
    "Ubuntu-22.04",
    22,
    "arm64",
  ]);
  const rocky = saltGrains({
    os: {
      name: "Rocky",
      full_name: "Rocky Linux",
      platform: "rocky",
      family: "redhat",
      platform_version: "9.3",
      arch: "x86_64",
    },
  });
  assert.deepEqual([rocky.os, rocky.os_family, rocky.osfinger, rocky.osarch], [
    "Rocky",
    "RedHat",
    "Rocky Linux-9",
    "x86_64",
  ]);
});

Deno.test("grains - facts given in Salt's shape win over computed ones", () => {
  const g = saltGrains({ ...debianFacts, os: "Debian", os_family: "Debian", osfinger: "Custom-1" });
  assert.deepEqual([g.os, g.os_family, g.osfinger], ["Debian", "Debian", "Custom-1"]);
});

Deno.test("grains - each computed grain is right from the facts grainFacts names alone", () => {
  const shapes: Record<string, unknown>[] = [
    debianFacts,
    { ...debianFacts, os_family: "Custom", osfinger: "Mine-1", host: { name: "map" } },
  ];
  for (const facts of shapes) {
    const whole = saltGrains(facts);
    for (const name of COMPUTED_GRAINS) {
      const some = Object.fromEntries(
        grainFacts(name).filter((k) => Object.hasOwn(facts, k)).map((k) => [k, facts[k]]),
      );
      assert.deepEqual(saltGrains(some)[name], whole[name], name);
    }
  }
});
