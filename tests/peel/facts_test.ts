import assert from "node:assert/strict";
import {
  collectFacts,
  fqdnFromHosts,
  hostsAddresses,
  initSystem,
  osFamily,
  parseCpuinfo,
  parseDf,
  parseOsRelease,
  readCustomFacts,
} from "../../peel/facts/mod.ts";
import { PEEL_FACT_READS, PEEL_SYS, YAML_ENV } from "../../lib/config/mod.ts";
import { DENO_CONFIG, tempDir } from "../harness/mod.ts";

Deno.test("facts - os-release family mapping", () => {
  const debian = parseOsRelease('NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n');
  assert.equal(debian.NAME, "Debian GNU/Linux");
  assert.equal(osFamily(debian), "debian");
  assert.equal(osFamily(parseOsRelease('ID="rocky"\nID_LIKE="rhel centos fedora"\n')), "redhat");
  assert.equal(osFamily(parseOsRelease("ID=linuxmint\nID_LIKE=ubuntu\n")), "debian");
  assert.equal(osFamily(parseOsRelease("ID=nixos\n")), "nixos");
});

Deno.test("facts - cpuinfo, df and hosts parsing", () => {
  const cpu = parseCpuinfo(
    "processor\t: 0\nmodel name\t: Xeon\nphysical id\t: 0\ncore id\t: 0\n\n" +
      "processor\t: 1\nmodel name\t: Xeon\nphysical id\t: 0\ncore id\t: 0\n\n" +
      "processor\t: 2\nmodel name\t: Xeon\nphysical id\t: 1\ncore id\t: 0\n",
  );
  assert.deepEqual(cpu, { count: 3, model: "Xeon", physical_count: 2 });
  const df = parseDf(
    "Filesystem Type 1024-blocks Used Available Capacity Mounted on\n" +
      "/dev/vda1 ext4 1000 250 750 25% /\n/dev/vdb xfs 10 1 9 10% /srv/my data\nbad line\n",
  );
  assert.equal(df.length, 2);
  assert.deepEqual(df[0], {
    device: "/dev/vda1",
    fstype: "ext4",
    mountpoint: "/",
    size_bytes: 1024000,
    used_bytes: 256000,
    available_bytes: 768000,
    used_percent: 25,
  });
  assert.equal(df[1]!.mountpoint, "/srv/my data");
  assert.equal(
    fqdnFromHosts("web-01", "127.0.1.1 web-01.example.com web-01\n"),
    "web-01.example.com",
  );
  assert.equal(fqdnFromHosts("web-01", "# nothing\n"), "web-01");
  assert.equal(fqdnFromHosts("a.b", ""), "a.b");
  assert.deepEqual(
    hostsAddresses("web-01.example.com", "10.0.0.5 web-01.example.com web-01\n::1 localhost\n"),
    { ipv4: ["10.0.0.5"], ipv6: [] },
    "fqdn_ip4 and fqdn_ip6 from /etc/hosts",
  );
});

Deno.test("facts - custom facts: merged at the root, bad input reported", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/facts`;
  await Deno.writeTextFile(file, "role: web\ndatacenter: {name: eu, racks: [1, 2]}\nos: hacked\n");
  const { facts, errors } = await collectFacts({ peelId: "web-01", factsFile: file });
  assert.equal(facts.id, "web-01");
  assert.equal(facts.role, "web");
  assert.deepEqual(facts.datacenter, { name: "eu", racks: [1, 2] });
  assert.notEqual(facts.os, "hacked");
  assert.deepEqual(errors, [
    `Custom fact "os" in "${file}" would replace a built-in fact; ignored`,
  ]);

  await Deno.writeTextFile(file, "role: web\n  broken: [\n");
  await assert.rejects(readCustomFacts(file), /Cannot parse custom facts ".*facts:\d+:\d+"/);
  const bad = await collectFacts({ peelId: "web-01", factsFile: file });
  assert.equal(bad.errors.length, 1);
  assert.equal(bad.facts.role, undefined);
  await Deno.writeTextFile(file, "- a\n- b\n");
  await assert.rejects(readCustomFacts(file), /expected a mapping at the root/);
  assert.deepEqual(await readCustomFacts(`${dir.path}/missing`), {});
});

Deno.test("facts - the system info the broker supplies, and its failure", async () => {
  const ok = await collectFacts({
    peelId: "p",
    factsFile: "/nonexistent",
    sysinfo: () =>
      Promise.resolve({
        cpuinfo: "processor: 0\nmodel name: Test CPU\n",
        df:
          "Filesystem Type 1024-blocks Used Available Capacity Mounted on\n/dev/x ext4 4 1 3 25% /\n",
        init: "systemd",
      }),
  });
  assert.deepEqual(ok.facts.cpu, { count: 1, model: "Test CPU", physical_count: 1 });
  assert.equal(
    (ok.facts.os as { init: string }).init,
    "systemd",
    "the init system, as Salt names it",
  );
  assert.deepEqual(["init", "openrc-init", ""].map(initSystem), ["sysvinit", "openrc", "unknown"]);
  assert.equal((ok.facts.disk as { mounts: unknown[] }).mounts.length, 1);
  const failed = await collectFacts({
    peelId: "p",
    factsFile: "/nonexistent",
    sysinfo: () => Promise.reject(new Error("broker denied")),
  });
  assert.deepEqual(failed.errors, ["system info from the broker failed: broker denied"]);
  assert.ok((failed.facts.cpu as { count: number }).count >= 1, "CPU count still from Deno");
});

Deno.test("facts - the collectors fit inside the peel's sandbox", async () => {
  await using dir = await tempDir();
  const factsFile = `${dir.path}/facts.yaml`;
  await Deno.writeTextFile(factsFile, "role: db\n");
  const script = `${dir.path}/collect.ts`;
  const mod = new URL("../../peel/facts/mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { collectFacts } from "${mod}";\n` +
      `console.log(JSON.stringify(await collectFacts({ peelId: "db-01", factsFile: "${factsFile}" })));\n`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      DENO_CONFIG,
      "--no-prompt",
      `--allow-read=${[...PEEL_FACT_READS, factsFile].join(",")}`,
      `--allow-sys=${PEEL_SYS.join(",")}`,
      `--allow-env=${YAML_ENV.join(",")}`,
      script,
    ],
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const { facts, errors } = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(errors, []);
  assert.equal(facts.id, "db-01");
  assert.equal(facts.role, "db");
  assert.equal(facts.os.kernel, "Linux");
  assert.ok(facts.os.name.length > 0);
  assert.ok(facts.network.ipv4.includes("127.0.0.1"));
  assert.ok(facts.cpu.count >= 1);
  assert.ok(facts.memory.total > 0);
  assert.equal(typeof facts.hostname, "string");
});
