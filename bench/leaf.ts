/**
 * A second nats-server for fleets larger than one server can hold: nats-server needs an open
 * file per connection, and the open-file limit of the machines we run on is 20,000. The hub
 * (JetStream, the master, the bench's client) listens for leaf nodes; a plain leaf node
 * without JetStream takes some of the simulated peels and relays their messages to the hub
 * over one connection.
 * @module
 */
import { freePort, type NatsServer, startNatsServer } from "../deploy/dev/nats_server.ts";

/** Most simulated peels one server is given (besides them: clients, the store's files). */
export const PEELS_PER_SERVER = 15_000;

/** How a hub takes leaf nodes. */
export interface Hub {
  /** nats-server arguments for the hub (a config file holding its leaf node listener). */
  args: string[];
  /** The port it listens for leaf nodes on. */
  leafPort: number;
}

/** Write the config of a hub listening for leaf nodes into `dir`. */
export async function hubConfig(dir: string): Promise<Hub> {
  const leafPort = freePort();
  const conf = `${dir}/hub.conf`;
  await Deno.writeTextFile(conf, `leafnodes { listen: "127.0.0.1:${leafPort}" }\n`);
  return { args: ["-c", conf], leafPort };
}

/** Start a plain leaf node, without JetStream, of the hub whose leaf port is `leafPort`. */
export async function startLeaf(dir: string, leafPort: number): Promise<NatsServer> {
  const conf = `${dir}/leaf.conf`;
  await Deno.writeTextFile(
    conf,
    `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }\n`,
  );
  return await startNatsServer({ plain: true, jetstream: false, args: ["-c", conf] });
}
