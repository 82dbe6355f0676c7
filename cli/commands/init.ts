/**
 * What the CLI writes offline, from keys on this machine: `zester init <dir>`, a new deployment
 * in `dir` — operator, account and system account, creds for the master, the admin CLI and a
 * read-only CLI, a CA with server and client certificates (and one for the master's enrollment
 * API), and a `nats-server.conf` for operator mode; and `zester key issue`, a peel's creds and
 * client certificate from that deployment, for peels that do not enroll. Existing keys and creds
 * are never overwritten.
 * @module
 */
import {
  CertificateAuthority,
  Deployment,
  deploymentPaths,
  issueUser,
  loadAccountSigner,
  writeCredsFile,
  writeDeployment,
  writePrivateFile,
} from "../../lib/auth/mod.ts";
import { parseServerUrl } from "../../lib/bus/mod.ts";
import {
  initPermissionFlags,
  keyIssuePermissionFlags,
  listenAddrSchema,
} from "../../lib/config/mod.ts";
import { PeelId } from "../../lib/enroll/mod.ts";

/** Names the server certificate carries unless `--host` is given. */
export const DEFAULT_HOSTS = ["localhost", "127.0.0.1", "::1"];

/** Options of `zester init`. */
export interface InitOptions {
  /** Host names and addresses clients dial the server by. */
  hosts: string[];
  /** Names peels reach the master's enrollment API by; default `hosts`. */
  masterHosts?: string[];
  /** Where the server listens, `host:port`. */
  listen: string;
  /** The operator's name. */
  name: string;
  /** nats-server's monitoring endpoint, `host:port`, or `off`; default loopback port 8222. */
  monitor?: string;
}

/** `zester init` cannot write where it was asked to. */
export class InitError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InitError";
  }
}

/** Create the deployment in `dir`; resolves to the absolute directory. */
export async function initDeployment(dir: string, opts: InitOptions): Promise<string> {
  const { host, port } = parseServerUrl(opts.listen);
  const monitor = opts.monitor === undefined
    ? undefined
    : listenAddrSchema().parse(opts.monitor, "--monitor");
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const abs = await Deno.realPath(dir);
    const p = deploymentPaths(abs);
    for (const existing of [p.serverConfig, p.keys]) {
      if (await exists(existing)) {
        throw new InitError(`Refusing to overwrite "${existing}": ${abs} holds a deployment`);
      }
    }
    await writeDeployment(await Deployment.create(opts.name), abs, {
      hosts: opts.hosts,
      listen: { host, port },
      masterHosts: opts.masterHosts,
      monitor,
    });
    return abs;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
    throw new InitError(
      `Cannot write "${dir}": zester init needs ${initPermissionFlags(dir).join(" ")}`,
      { cause: e },
    );
  }
}

/** The files `zester key issue` wrote for one peel. */
export interface IssuedPeel {
  id: string;
  creds: string;
  cert: string;
  key: string;
  /** The deployment's CA certificate, the peel's `nats_ca`. */
  ca: string;
}

/** Where `zester key issue` writes unless `--out` says: `<deployment>/peels`. */
export function issueDir(deployment: string): string {
  return `${deployment}/peels`;
}

/**
 * Issue peel `id` its creds (`<out>/<id>.creds`: a new user key with the peel role, signed by
 * the account signing key of `deployment`) and a client certificate from its CA (`<id>.pem`,
 * `<id>.key`); secrets 0600, `out` made 0700. Nothing is recorded in `enrollments`.
 */
export async function issuePeel(id: string, deployment: string, out: string): Promise<IssuedPeel> {
  PeelId.parse(id, "peel id");
  const p = deploymentPaths(deployment);
  const files = {
    id,
    creds: `${out}/${id}.creds`,
    cert: `${out}/${id}.pem`,
    key: `${out}/${id}.key`,
    ca: p.ca,
  };
  try {
    const account = await loadAccountSigner(p.creds("master"), p.seed("account-signing"));
    const ca = await CertificateAuthority.load(
      await Deno.readTextFile(p.ca),
      await Deno.readTextFile(p.caKey),
    );
    await Deno.mkdir(out, { recursive: true, mode: 0o700 });
    if (await exists(files.creds)) {
      throw new InitError(`Refusing to overwrite "${files.creds}": "${id}" has creds there`);
    }
    const cert = await ca.issue({ name: id, usage: "client" });
    await writeCredsFile(files.creds, issueUser(account, { name: id, role: "peel" }));
    await Deno.writeTextFile(files.cert, cert.cert);
    await writePrivateFile(files.key, cert.key);
    return files;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
    throw new InitError(
      `Cannot issue creds for "${id}": zester key issue needs ${
        keyIssuePermissionFlags(deployment, out).join(" ")
      }`,
      { cause: e },
    );
  }
}

/** What to put in the peel's config, for people. */
export function renderIssue(f: IssuedPeel): string {
  return [
    `Creds and certificate for ${f.id} written (copy them to the peel, 0600):`,
    `  peel.yaml: nats_creds: ${f.creds}`,
    `             nats_cert: ${f.cert}, nats_key: ${f.key}`,
    `             nats_ca: ${f.ca}`,
    `They are not in the enrollments bucket: zester key revoke cannot revoke them.`,
  ].join("\n");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** What to do with the files, for people. */
export function renderInit(dir: string): string {
  const p = deploymentPaths(dir);
  return [
    `Deployment written to ${dir}:`,
    `  nats-server -c ${p.serverConfig}`,
    `  master.yaml: nats_creds: ${p.creds("master")}, nats_ca: ${p.ca},`,
    `               nats_cert: ${p.cert("master")}, nats_key: ${p.key("master")},`,
    `               box_key_file: ${p.masterBoxKey}`,
    `  secrets:     zester settings encrypt --master-key ${p.masterBoxPublicKey} < value-file`,
    `  CLI config:  creds_file: ${p.creds("admin")} (read-only: ${p.creds("reader")}),`,
    `               ca_file: ${p.ca}, cert_file: ${p.cert("admin")}, key_file: ${p.key("admin")}`,
    `  backups:     ${p.creds("backup")} (read-only), ${p.creds("restore")} (keep offline);`,
    `               leaf nodes: ${p.creds("leaf")}, ${p.accountConfig} (docs/deploy.md)`,
    `  master.yaml enroll: tls_cert: ${p.cert("enroll")}, tls_key: ${p.key("enroll")},`,
    `               account_signing_key: ${p.seed("account-signing")},`,
    `               operator_signing_key: ${p.seed("operator-signing")},`,
    `               system_creds: ${p.creds("sys")}`,
    `Keep ${p.keys} and ${p.caKey} from everyone but the operator; move ${p.keys}/operator.nk offline.`,
  ].join("\n");
}
