/**
 * The shared test harness: real nats-servers on free loopback ports, real daemons started as in
 * production, and a client connection, all stopped at the end of each test.
 * @module
 */
import type { NatsConnection } from "nats";
import { closeBus, connectBus } from "../../lib/bus/mod.ts";
import { MasterConfig, parseConfig } from "../../lib/config/mod.ts";
export { freePort, type NatsServer, startNatsServer } from "../../deploy/dev/nats_server.ts";
export {
  type Daemon,
  DENO_CONFIG,
  devBrokerPolicy,
  spawnDaemon,
  startMaster,
  startPeel,
  waitForPeels,
  writeDevLauncher,
  writeYaml,
} from "../../deploy/dev/fleet.ts";

/** Connect a test client to `url`. */
export async function client(url: string): Promise<NatsConnection> {
  return await connectBus({ servers: [url], name: "zester-test" });
}

/**
 * The config of an in-process test master on `natsUrl`: an empty state tree in `<dir>/states`
 * (created here) unless `extra`, more `master.yaml` lines, names another.
 */
export async function masterConfig(
  natsUrl: string,
  dir: string,
  extra = "",
): Promise<MasterConfig> {
  await Deno.mkdir(`${dir}/states`, { recursive: true });
  return parseConfig(
    `nats_url: ${natsUrl}\nstates_dir: ${dir}/states\n${extra}`,
    "master.yaml",
    MasterConfig,
  );
}

/** Close a test client. */
export async function closeClient(nc: NatsConnection): Promise<void> {
  await closeBus(nc, 2_000);
}

export { tempDir } from "./temp_dir.ts";
export {
  callCommand,
  type CliRun,
  runCall,
  runZester,
  writeCliConfig,
  zesterAt,
} from "../../deploy/dev/cli.ts";
export { auditRecords, brokerAt, rejectsWith } from "./broker.ts";
