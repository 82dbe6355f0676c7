/**
 * The peel's facts (Salt's grains are a view of them, `lib/grains`): os, kernel, hostname/fqdn,
 * network, cpu, memory, disk and load from the system, plus custom facts from a YAML file.
 * @module
 */
export * from "./collect.ts";
export { readCustomFacts } from "./custom.ts";
export { osFamily, parseOsRelease } from "./os.ts";
export { fqdnFromHosts, hostsAddresses } from "./network.ts";
export { type Mount, parseCpuinfo, parseDf } from "./hardware.ts";
