/**
 * The development deployment: one operator, account, CA and set of creds per process, made by
 * the same code as `zester init` (on first use, then reused: keys and certificates cost time),
 * and a registry from each secured nats-server's URL to it, so the harness finds the creds and
 * TLS files of a server by its URL alone. Each peel started gets a user of its own, issued with
 * the account's signing key as enrollment will.
 * @module
 */
import {
  Deployment,
  deploymentPaths,
  natsAccountConfig,
  natsServerConfig,
  natsTrustConfig,
  type Role,
  writeCredsFile,
  writeDeployment,
  writePrivateFile,
} from "../../lib/auth/mod.ts";

/** The connection files of one NATS user: creds, the CA, and a client certificate and key. */
export interface NatsFiles {
  nats_creds: string;
  nats_ca: string;
  nats_cert: string;
  nats_key: string;
}

/** Names the development server certificate carries: every loopback name tests dial. */
const DEV_HOSTS = ["127.0.0.1", "127.0.0.2", "localhost", "::1"];

/** The development deployment: where it is written, and its keys. */
export interface DevTrust {
  /** The directory `writeDeployment` wrote. */
  dir: string;
  /** Its keys and CA. */
  deployment: Deployment;
}

let made: Promise<DevTrust> | undefined;
const servers = new Map<string, DevTrust>();

/** This process's development deployment, written into a temp dir (made once). */
export function devTrust(): Promise<DevTrust> {
  return made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "zester-trust-" });
    addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
    const deployment = await Deployment.create("zester-dev");
    await writeDeployment(deployment, dir, {
      hosts: DEV_HOSTS,
      listen: { host: "127.0.0.1", port: 4222 },
    });
    await writeCredsFile(
      `${dir}/creds/test.creds`,
      deployment.issue({ name: "test", role: "full" }),
    );
    return { dir, deployment };
  })();
}

/**
 * The `trust.conf` of a server of the development deployment, its resolver keeping account
 * JWTs under `storeDir`: what its `nats-server.conf`, and those of `deploy/nats/`, include.
 */
export async function devTrustConfig(storeDir: string): Promise<string> {
  const { deployment } = await devTrust();
  return natsTrustConfig({
    operatorJwt: deployment.operatorJwt,
    systemAccount: deployment.system.identity.getPublicKey(),
    accounts: deployment.accounts(),
    resolverDir: `${storeDir}/jwt`,
    jetstreamAccount: deployment.account.identity.getPublicKey(),
  });
}

/** The `account.conf` of the development deployment, which leaf node configs include. */
export async function devAccountConfig(): Promise<string> {
  return natsAccountConfig((await devTrust()).deployment.account.identity.getPublicKey());
}

/**
 * The `nats-server.conf` of a secured server listening on `host:port` with its store in
 * `storeDir`, beside the `trust.conf` of {@linkcode devTrustConfig}.
 */
export async function devServerConfig(
  host: string,
  port: number,
  storeDir: string,
): Promise<string> {
  const p = deploymentPaths((await devTrust()).dir);
  return natsServerConfig({
    host,
    port,
    trust: "trust.conf",
    storeDir: `${storeDir}/jetstream`,
    tls: { cert: p.cert("server"), key: p.key("server"), ca: p.ca },
  });
}

/** Record that the server at `url` runs on the development deployment (until `forget`). */
export async function register(url: string): Promise<void> {
  servers.set(url, await devTrust());
}

/** Forget the server at `url`. */
export function forget(url: string): void {
  servers.delete(url);
}

/** Users the development deployment has creds for (peels get theirs from `issuePeelFiles`). */
export type DevUser = Exclude<Role, "peel"> | "test" | "sys";

/**
 * The connection files of `user` on the server at `url` (`test`: the harness's own user, with
 * no permission limits; `sys`: the system account's), or undefined for a plain server.
 */
export function natsFiles(url: string, user: DevUser): NatsFiles | undefined {
  const t = servers.get(url);
  if (!t) return undefined;
  const p = deploymentPaths(t.dir);
  const cert = user === "test" || user === "sys" ? "admin" : user;
  return {
    nats_creds: user === "test" ? `${t.dir}/creds/test.creds` : p.creds(user),
    nats_ca: p.ca,
    nats_cert: p.cert(cert),
    nats_key: p.key(cert),
  };
}

/**
 * The CA and a client certificate of its own for peel `id` on the server at `url`, written into
 * `dir`: what a peel that enrolls has before it has creds. Undefined for a plain server.
 */
export async function issuePeelCert(
  url: string,
  id: string,
  dir: string,
): Promise<Omit<NatsFiles, "nats_creds"> | undefined> {
  const t = servers.get(url);
  if (!t) return undefined;
  const files = {
    nats_ca: deploymentPaths(t.dir).ca,
    nats_cert: `${dir}/client.pem`,
    nats_key: `${dir}/client.key`,
  };
  const ck = await t.deployment.ca.issue({ name: id, usage: "client" });
  await Deno.writeTextFile(files.nats_cert, ck.cert);
  await writePrivateFile(files.nats_key, ck.key);
  return files;
}

/**
 * Issue peel `id` its own user (and client certificate) on the server at `url`, written into
 * `dir`; undefined for a plain server. `expires` (unix seconds) makes a user that expires.
 */
export async function issuePeelFiles(
  url: string,
  id: string,
  dir: string,
  opts: { expires?: number } = {},
): Promise<NatsFiles | undefined> {
  const t = servers.get(url);
  const tls = await issuePeelCert(url, id, dir);
  if (!t || !tls) return undefined;
  const nats_creds = `${dir}/peel.creds`;
  await writeCredsFile(nats_creds, t.deployment.issue({ name: id, role: "peel", ...opts }));
  return { nats_creds, ...tls };
}

/**
 * The `enroll:` section of a master on the development deployment listening on
 * `127.0.0.1:<port>`, with the deployment's enrollment certificate, signing keys and system
 * creds; `extra` adds or replaces keys (`policy`, `auto_accept`…).
 */
export async function devEnrollment(
  port: number,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const p = deploymentPaths((await devTrust()).dir);
  return {
    addr: `127.0.0.1:${port}`,
    tls_cert: p.cert("enroll"),
    tls_key: p.key("enroll"),
    account_signing_key: p.seed("account-signing"),
    operator_signing_key: p.seed("operator-signing"),
    system_creds: p.creds("sys"),
    ...extra,
  };
}
