/**
 * Trust: nkeys, NATS JWTs (operator → account → user) signed and verified, `.creds` files, the
 * permissions of each kind of user, the CA for mutual TLS, and a deployment that holds them all.
 * @module
 */
export * from "./jwt.ts";
export * from "./chain.ts";
export * from "./creds.ts";
export * from "./roles.ts";
export * from "./users.ts";
export * from "./x509.ts";
export * from "./server_config.ts";
export * from "./deployment.ts";
export * from "./resolver.ts";
export * from "./seed_file.ts";
export * from "./cert_expiry.ts";
