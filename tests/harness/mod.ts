/**
 * The shared test harness: real nats-servers on free loopback ports, real daemons started as in
 * production, and a client connection, all stopped at the end of each test.
 * @module
 */
import type { NatsConnection } from "nats";
import { type BusOptions, closeBus, connectBus } from "../../lib/bus/mod.ts";
import { type DevUser, natsFiles } from "../../deploy/dev/trust.ts";
import { MasterConfig } from "../../lib/config/mod.ts";
export {
  freePort,
  type NatsServer,
  natsServerBin,
  startNatsServer,
} from "../../deploy/dev/nats_server.ts";
export {
  type Daemon,
  DENO_CONFIG,
  devBrokerPolicy,
  healthUrl,
  spawnDaemon,
  startMaster,
  startPeel,
  waitForPeels,
  writeDevLauncher,
  writeYaml,
} from "../../deploy/dev/fleet.ts";

/** The bus options of `user` (the harness's unlimited `test` user by default) on `url`. */
export function busAs(url: string, user: DevUser = "test"): BusOptions {
  const f = natsFiles(url, user);
  return {
    servers: [url],
    name: `zester-${user}`,
    ...f &&
      { credsFile: f.nats_creds, caFile: f.nats_ca, certFile: f.nats_cert, keyFile: f.nats_key },
  };
}

/** Connect a test client to `url`, as `user` (default: the harness's unlimited `test` user). */
export async function client(url: string, user: DevUser = "test"): Promise<NatsConnection> {
  return await connectBus(busAs(url, user));
}

/**
 * The config of an in-process test master on `url`, with the master's creds and certificate:
 * an empty state tree in `<dir>/states` (created here) unless `extra`, more `master.yaml` keys,
 * names another; no health endpoints unless `extra` gives a `health_addr`.
 */
export async function masterConfig(
  url: string,
  dir: string,
  extra: Record<string, unknown> = {},
): Promise<MasterConfig> {
  await Deno.mkdir(`${dir}/states`, { recursive: true });
  return MasterConfig.parse({
    nats_url: url,
    states_dir: `${dir}/states`,
    health_addr: "off",
    ...natsFiles(url, "master"),
    ...extra,
  });
}

/** Close a test client. */
export async function closeClient(nc: NatsConnection): Promise<void> {
  await closeBus(nc, 2_000);
}

export { tempDir } from "./temp_dir.ts";
export { retry, until } from "./until.ts";
export { jobOf } from "./job.ts";
export {
  devEnrollment,
  devTrust,
  type DevUser,
  issuePeelCert,
  issuePeelFiles,
  type NatsFiles,
  natsFiles,
} from "../../deploy/dev/trust.ts";
export {
  callCommand,
  type CliRun,
  runCall,
  runZester,
  writeCliConfig,
  zesterAt,
} from "../../deploy/dev/cli.ts";
export { auditRecords, brokerAt, rejectsWith } from "./broker.ts";
export { pidsOf, uniqueSleep } from "./processes.ts";
export {
  type DocumentedMetric,
  documentedMetrics,
  type Exposition,
  parseExposition,
  type Sample,
  sampleValue,
} from "./metrics.ts";
