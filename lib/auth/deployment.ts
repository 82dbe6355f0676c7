/**
 * A deployment's trust: the operator, the `ZESTER` account every Zester process lives in, the
 * system account (through which updated account JWTs — revocations — reach the servers), and a
 * CA for mutual TLS. {@linkcode writeDeployment} lays it out in a directory as `zester init`
 * does: keys and creds 0600, and a `nats-server.conf` that serves it.
 * @module
 */
import type { KeyPair } from "nkeys.js";
import { createBoxKey, encodeBoxPublicKey, writeBoxKeyFile } from "../secrets/box_key.ts";
import { type Creds, writeCredsFile, writePrivateFile } from "./creds.ts";
import { natsAccountConfig, natsServerConfig, natsTrustConfig } from "./server_config.ts";
import type { Role } from "./roles.ts";
import { seedText } from "./seed_file.ts";
import {
  ACCOUNT_NAME,
  accountJwt,
  issueUser,
  newIdentity,
  operatorJwt,
  type SigningIdentity,
  type UserOptions,
} from "./users.ts";
import { type CertAndKey, CertificateAuthority } from "./x509.ts";

/** The keys and CA of a deployment, in memory. */
export class Deployment {
  /** The operator. */
  readonly operator: SigningIdentity;
  /** The account of every Zester process. */
  readonly account: SigningIdentity;
  /** The system account. */
  readonly system: SigningIdentity;
  /** The CA of servers and clients. */
  readonly ca: CertificateAuthority;
  /** The operator JWT. */
  readonly operatorJwt: string;

  private constructor(
    operator: SigningIdentity,
    account: SigningIdentity,
    system: SigningIdentity,
    ca: CertificateAuthority,
  ) {
    this.operator = operator;
    this.account = account;
    this.system = system;
    this.ca = ca;
    this.operatorJwt = operatorJwt(operator, system.identity.getPublicKey());
  }

  /** New keys for everything, and a CA named after `name`. */
  static async create(name = "zester"): Promise<Deployment> {
    return new Deployment(
      newIdentity(name, "operator"),
      newIdentity(ACCOUNT_NAME, "account"),
      newIdentity("SYS", "account"),
      await CertificateAuthority.create(`${name} CA`),
    );
  }

  /** The Zester account's JWT, with `revocations` when users have been revoked. */
  accountJwt(revocations?: Record<string, number>): string {
    return accountJwt(this.operator, this.account, { jetstream: true, revocations });
  }

  /** The system account's JWT. */
  systemJwt(): string {
    return accountJwt(this.operator, this.system, { jetstream: false });
  }

  /** Account public key → JWT, for the server's resolver preload. */
  accounts(): Record<string, string> {
    return {
      [this.account.identity.getPublicKey()]: this.accountJwt(),
      [this.system.identity.getPublicKey()]: this.systemJwt(),
    };
  }

  /** Creds for a new user of the Zester account. */
  issue(opts: UserOptions): Creds {
    return issueUser(this.account, opts);
  }

  /** Creds for a user of the system account (pushes account updates). */
  issueSystemUser(): Creds {
    return issueUser(this.system, { name: "sys", role: "full" });
  }
}

/** Where `writeDeployment` puts each file, under `dir`. */
export function deploymentPaths(dir: string) {
  return {
    serverConfig: `${dir}/nats-server.conf`,
    /** Operator, accounts and resolver: what every server config of the deployment includes. */
    trustConfig: `${dir}/trust.conf`,
    /** The Zester account's public key as a variable, for a leaf node's config. */
    accountConfig: `${dir}/account.conf`,
    operatorJwt: `${dir}/operator.jwt`,
    keys: `${dir}/keys`,
    seed: (name: string) => `${dir}/keys/${name}.nk`,
    creds: (who: Role | "sys" | "leaf") => `${dir}/creds/${who}.creds`,
    /** The master's box key, which opens `!encrypted` settings values. */
    masterBoxKey: `${dir}/creds/master-box.key`,
    /** Its public half, for `zester settings encrypt --master-key`. */
    masterBoxPublicKey: `${dir}/master-box.pub`,
    ca: `${dir}/tls/ca.pem`,
    caKey: `${dir}/tls/ca.key`,
    cert: (who: string) => `${dir}/tls/${who}.pem`,
    key: (who: string) => `${dir}/tls/${who}.key`,
    resolverDir: `${dir}/jwt`,
    storeDir: `${dir}/jetstream`,
  };
}

/** Options for {@linkcode writeDeployment}. */
export interface WriteOptions {
  /** Names clients dial the server by (host names and addresses): the server certificate's. */
  hosts: string[];
  /** Where the server listens. */
  listen: { host: string; port: number };
  /** Names peels reach the master's enrollment API by; default `hosts`. */
  masterHosts?: string[];
  /** nats-server's monitoring endpoint, `host:port`; default {@linkcode DEFAULT_MONITOR}, "" for none. */
  monitor?: string;
}

/** Where the server config of `zester init` serves nats-server's monitoring: loopback only. */
export const DEFAULT_MONITOR = "127.0.0.1:8222";

const ROLE_USERS: Array<{ role: Role; name: string }> = [
  { role: "master", name: "master" },
  { role: "admin", name: "admin" },
  { role: "reader", name: "reader" },
  { role: "backup", name: "backup" },
  { role: "restore", name: "restore" },
];

async function writeCert(dir: string, who: string, ck: CertAndKey): Promise<void> {
  const p = deploymentPaths(dir);
  await Deno.writeTextFile(p.cert(who), ck.cert);
  await writePrivateFile(p.key(who), ck.key);
}

/**
 * Write `d` into `dir` (absolute): every seed under `keys/` (move `operator.nk` offline: only
 * a new operator signing key needs it), creds for the master, the admin CLI, a read-only CLI,
 * backups, restores, leaf nodes and the system account, the master's box key for settings
 * secrets (and its public half), the CA and certificates for the servers (also good for their
 * routes and leaf connections), those clients and the master's enrollment API
 * (`tls/enroll.pem`), `trust.conf`, `account.conf` and a single-node `nats-server.conf` that
 * includes it, with monitoring on loopback.
 * Secrets are 0600, directories 0700.
 */
export async function writeDeployment(
  d: Deployment,
  dir: string,
  opts: WriteOptions,
): Promise<void> {
  const p = deploymentPaths(dir);
  for (const sub of ["keys", "creds", "tls"]) {
    await Deno.mkdir(`${dir}/${sub}`, { recursive: true, mode: 0o700 });
  }
  const keys: Array<[string, KeyPair]> = [
    ["operator", d.operator.identity],
    ["operator-signing", d.operator.signing],
    ["account", d.account.identity],
    ["account-signing", d.account.signing],
    ["system", d.system.identity],
    ["system-signing", d.system.signing],
  ];
  for (const [name, k] of keys) await writePrivateFile(p.seed(name), seedText(k) + "\n");
  await Deno.writeTextFile(p.operatorJwt, d.operatorJwt + "\n");
  for (const u of ROLE_USERS) {
    await writeCredsFile(p.creds(u.role), d.issue(u));
    await writeCert(dir, u.name, await d.ca.issue({ name: u.name, usage: "client" }));
  }
  await writeCredsFile(p.creds("sys"), d.issueSystemUser());
  await writeCredsFile(p.creds("leaf"), d.issue({ name: "leaf", role: "full" }));
  const box = createBoxKey();
  await writeBoxKeyFile(p.masterBoxKey, box);
  await Deno.writeTextFile(p.masterBoxPublicKey, encodeBoxPublicKey(box.publicKey) + "\n");
  await Deno.writeTextFile(p.ca, d.ca.cert);
  await writePrivateFile(p.caKey, await d.ca.exportKey());
  await writeCert(
    dir,
    "server",
    await d.ca.issue({ name: "nats", usage: "peer", hosts: opts.hosts }),
  );
  await writeCert(
    dir,
    "enroll",
    await d.ca.issue({ name: "enroll", usage: "server", hosts: opts.masterHosts ?? opts.hosts }),
  );
  await Deno.writeTextFile(
    p.trustConfig,
    natsTrustConfig({
      operatorJwt: d.operatorJwt,
      systemAccount: d.system.identity.getPublicKey(),
      accounts: d.accounts(),
      resolverDir: p.resolverDir,
      jetstreamAccount: d.account.identity.getPublicKey(),
    }),
  );
  await Deno.writeTextFile(
    p.accountConfig,
    natsAccountConfig(d.account.identity.getPublicKey()),
  );
  await Deno.writeTextFile(
    p.serverConfig,
    natsServerConfig({
      ...opts.listen,
      monitor: opts.monitor ?? DEFAULT_MONITOR,
      trust: "trust.conf",
      storeDir: p.storeDir,
      tls: { cert: p.cert("server"), key: p.key("server"), ca: p.ca },
    }),
  );
}
