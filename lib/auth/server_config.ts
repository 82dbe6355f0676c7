/**
 * The `nats-server.conf` of a deployment: operator mode with the full resolver (account JWTs
 * kept in a directory, so updated ones — revocations — can be pushed at run time through the
 * system account), the accounts preloaded, JetStream, and mutual TLS; optionally a cluster
 * member (routes), a hub that accepts leaf nodes, or a leaf node of such a hub. The trust part
 * (operator, accounts, resolver) can be written once to its own file, `trust.conf`, that every
 * server config of the deployment includes.
 * @module
 */

const q = (v: string) => JSON.stringify(v);

/** The deployment's trust, which every server of it serves. */
export interface TrustOptions {
  /** The operator JWT. */
  operatorJwt: string;
  /** The system account's public key. */
  systemAccount: string;
  /** Account public key → account JWT, preloaded into the resolver. */
  accounts: Record<string, string>;
  /** Where the resolver keeps account JWTs (written by the server at run time). */
  resolverDir: string;
  /** The public key of the account whose JetStream leaf nodes reach in their hub. */
  jetstreamAccount: string;
}

/** PEM files: the server's certificate and key, and the CA its peers' certificates chain to. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

/** A cluster member: its route listener and every member's route URL (its own may be listed). */
export interface ClusterOptions {
  /** The cluster's name, the same on every member. */
  name: string;
  host: string;
  port: number;
  /** `tls://host:port` of each member's route listener. */
  routes: string[];
}

/** A leaf node's connection to its hub. */
export interface LeafRemote {
  /** `tls://host:port` of the hub's leaf node listeners (each cluster member's). */
  urls: string[];
  /** The creds of the Zester account user the leaf node connects as. */
  credentials: string;
  /**
   * The local account the connection binds: the Zester account's public key, or `$NAME`, a
   * variable an included file defines (see {@linkcode natsAccountConfig}).
   */
  account: string;
}

/** The variable `account.conf` defines: the Zester account's public key, for leaf nodes. */
export const ACCOUNT_VARIABLE = "ZESTER_ACCOUNT";

/**
 * `account.conf`, which a leaf node's config includes: the Zester account's public key as
 * `$ZESTER_ACCOUNT`, the account its hub connection binds. Apart from `trust.conf`, since
 * nats-server refuses a variable that no config uses.
 */
export function natsAccountConfig(accountKey: string): string {
  return `${ACCOUNT_VARIABLE}: ${q(accountKey)}\n`;
}

/** What goes into the server config. */
export interface ServerConfigOptions {
  /** Listen address and port for clients. */
  host: string;
  port: number;
  /** The server's name, unique in a cluster (JetStream's RAFT groups name their peers by it). */
  serverName?: string;
  /**
   * The trust inline, or the path of the `trust.conf` to include: relative, resolved against the
   * directory of the config file (nats-server takes no absolute include path).
   */
  trust: TrustOptions | string;
  /** JetStream's store; a leaf node without one sends JetStream requests to its hub. */
  storeDir?: string;
  tls: TlsFiles;
  cluster?: ClusterOptions;
  /** Accept leaf node connections here (a hub). */
  leafListen?: { host: string; port: number };
  /** Connect as a leaf node to these hubs. */
  leafRemotes?: LeafRemote[];
  /** More files to include (relative, as `trust`), such as `account.conf`. */
  includes?: string[];
  /**
   * nats-server's monitoring endpoint (`/varz`, `/connz`, `/jsz`…), `host:port`: it has no
   * authentication, so keep it on loopback. None when left out.
   */
  monitor?: string;
}

function tlsBlock(t: TlsFiles, indent: string): string {
  return [
    `tls: {`,
    `  cert_file: ${q(t.cert)}`,
    `  key_file: ${q(t.key)}`,
    `  ca_file: ${q(t.ca)}`,
    `  verify: true`,
    `  timeout: 5`,
    `}`,
  ].map((l) => indent + l).join("\n");
}

/**
 * The trust part of a server config: operator, system account, resolver and its preload, and
 * the Zester account's JetStream in the default domain on both ends of a leaf node connection,
 * so that a leaf without JetStream passes JetStream requests and KV writes to its hub instead
 * of denying them (nats-server's `default_js_domain`; without a leaf node it changes nothing).
 */
export function natsTrustConfig(o: TrustOptions): string {
  const preload = Object.entries(o.accounts).map(([k, jwt]) => `  ${k}: ${q(jwt)}`).join("\n");
  return `operator: ${q(o.operatorJwt)}
system_account: ${o.systemAccount}
resolver: {
  type: full
  dir: ${q(o.resolverDir)}
  allow_delete: false
  interval: "2m"
}
resolver_preload: {
${preload}
}
default_js_domain: { ${o.jetstreamAccount}: "" }
`;
}

/** The config text. */
export function natsServerConfig(o: ServerConfigOptions): string {
  const parts = [
    `listen: ${q(`${o.host}:${o.port}`)}`,
    ...o.serverName ? [`server_name: ${q(o.serverName)}`] : [],
    ...o.monitor ? [`http: ${q(o.monitor)}`] : [],
    typeof o.trust === "string" ? `include ${q(o.trust)}` : natsTrustConfig(o.trust).trimEnd(),
    ...(o.includes ?? []).map((f) => `include ${q(f)}`),
    ...o.storeDir ? [`jetstream: {\n  store_dir: ${q(o.storeDir)}\n}`] : [],
    tlsBlock(o.tls, ""),
  ];
  if (o.cluster) {
    const c = o.cluster;
    parts.push([
      `cluster: {`,
      `  name: ${q(c.name)}`,
      `  listen: ${q(`${c.host}:${c.port}`)}`,
      tlsBlock(o.tls, "  "),
      `  routes: [`,
      ...c.routes.map((r) => `    ${q(r)}`),
      `  ]`,
      `}`,
    ].join("\n"));
  }
  if (o.leafListen || o.leafRemotes?.length) {
    const lines = [`leafnodes: {`];
    if (o.leafListen) {
      lines.push(`  listen: ${q(`${o.leafListen.host}:${o.leafListen.port}`)}`);
      lines.push(tlsBlock(o.tls, "  "));
    }
    if (o.leafRemotes?.length) {
      lines.push(`  remotes: [`);
      for (const r of o.leafRemotes) {
        lines.push(
          `    {`,
          `      urls: [${r.urls.map(q).join(", ")}]`,
          `      credentials: ${q(r.credentials)}`,
          `      account: ${r.account.startsWith("$") ? r.account : q(r.account)}`,
          tlsBlock(o.tls, "      "),
          `    }`,
        );
      }
      lines.push(`  ]`);
    }
    lines.push(`}`);
    parts.push(lines.join("\n"));
  }
  return parts.join("\n") + "\n";
}
