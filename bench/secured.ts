/**
 * ping_fanout on a secured server (operator mode, JWT creds, mutual TLS 1.3), as production
 * runs: both paths, Zester's and the floor's, on the same encrypted, authenticated connections.
 * And what creds and mutual TLS add to a peel's connection set-up.
 * @module
 */
import { closeBus, connectBus } from "../lib/bus/mod.ts";
import { startMaster } from "../deploy/dev/fleet.ts";
import { startNatsServer } from "../deploy/dev/nats_server.ts";
import { issuePeelFiles, natsFiles } from "../deploy/dev/trust.ts";
import { type FanoutCpu, type FanoutFigure, pingFanout, type Profile } from "./ping_fanout.ts";
import { median } from "./stats.ts";

/** ping_fanout's figures on a secured server. */
export async function securedFanout(
  dir: string,
  sizes: number[],
  runs: number,
  processes: number,
  profile?: Profile,
): Promise<{ figures: FanoutFigure[]; cpu: FanoutCpu[] }> {
  await using ns = await startNatsServer();
  await using master = await startMaster(
    `${dir}/master-secured`,
    ns.url,
    {},
    [],
    { denoFlags: profile?.master },
  );
  // The simulated peels share the harness's user (one creds file and client certificate): each
  // still makes its own TLS connection and authenticates with the JWT.
  const f = natsFiles(ns.url, "test")!;
  const auth = {
    credsFile: f.nats_creds,
    caFile: f.nats_ca,
    certFile: f.nats_cert,
    keyFile: f.nats_key,
  };
  const nc = await connectBus({ servers: [ns.url], name: "zester-bench-secured", ...auth });
  try {
    return await pingFanout(nc, ns.url, sizes, runs, processes, {
      pids: { natsServer: [ns.pid], master: master.pid },
      auth,
      denoFlags: profile?.peels,
    });
  } finally {
    await closeBus(nc, 5_000);
  }
}

/** Median milliseconds from `connectBus` to a connection that answered a PING, and back. */
export interface ConnectFigure {
  connects: number;
  plain_ms: number;
  creds_mtls_ms: number;
  added_ms: number;
}

/**
 * A peel's connection set-up, median of `connects`: to a plain server, and to a secured one with
 * its own creds and client certificate (files read, TLS handshake, JWT challenge signed).
 */
export async function connectSetup(
  dir: string,
  plainUrl: string,
  connects = 50,
): Promise<ConnectFigure> {
  await using ns = await startNatsServer();
  const files = (await issuePeelFiles(ns.url, "bench-peel-01", dir))!;
  const secured = {
    servers: [ns.url],
    credsFile: files.nats_creds,
    caFile: files.nats_ca,
    certFile: files.nats_cert,
    keyFile: files.nats_key,
  };
  const time = async (opts: Parameters<typeof connectBus>[0]) => {
    const ms: number[] = [];
    for (let i = 0; i < connects + 3; i++) {
      const t0 = performance.now();
      const nc = await connectBus(opts);
      await nc.flush();
      if (i >= 3) ms.push(performance.now() - t0);
      await nc.close();
    }
    return median(ms);
  };
  const plain = await time({ servers: [plainUrl], name: "bench-peel-01" });
  const withTrust = await time({ ...secured, name: "bench-peel-01" });
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    connects,
    plain_ms: round(plain),
    creds_mtls_ms: round(withTrust),
    added_ms: round(withTrust - plain),
  };
}
