/**
 * The `nats-server.conf` of a deployment: operator mode with the full resolver (account JWTs
 * kept in a directory, so updated ones — revocations — can be pushed at run time through the
 * system account), the accounts preloaded, JetStream, and mutual TLS.
 * @module
 */

/** What goes into the server config. */
export interface ServerConfigOptions {
  /** Listen address and port. */
  host: string;
  port: number;
  /** The operator JWT. */
  operatorJwt: string;
  /** The system account's public key. */
  systemAccount: string;
  /** Account public key → account JWT, preloaded into the resolver. */
  accounts: Record<string, string>;
  /** Where the resolver keeps account JWTs. */
  resolverDir: string;
  /** JetStream's store. */
  storeDir: string;
  /** PEM files: the server's certificate and key, and the CA clients' certificates chain to. */
  tls: { cert: string; key: string; ca: string };
}

const q = (v: string) => JSON.stringify(v);

/** The config text. */
export function natsServerConfig(o: ServerConfigOptions): string {
  const preload = Object.entries(o.accounts).map(([k, jwt]) => `  ${k}: ${q(jwt)}`).join("\n");
  return `# Written by zester init: operator mode, JetStream, mutual TLS.
listen: ${q(`${o.host}:${o.port}`)}
operator: ${q(o.operatorJwt)}
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
jetstream: {
  store_dir: ${q(o.storeDir)}
}
tls: {
  cert_file: ${q(o.tls.cert)}
  key_file: ${q(o.tls.key)}
  ca_file: ${q(o.tls.ca)}
  verify: true
  timeout: 5
}
`;
}
