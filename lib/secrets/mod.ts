/**
 * Secrets: box keys of the master and the peels; `!encrypted` literals sealed to the master;
 * settings files sanitized into placeholders; values sealed again for exactly one peel into the
 * `secrets` bucket, opened and substituted there; redaction for logs; settings sealed at rest.
 * @module
 */
export * from "./box_key.ts";
export * from "./errors.ts";
export * from "./sealed_literal.ts";
export * from "./sanitize.ts";
export * from "./peel_secrets.ts";
export * from "./substitute.ts";
export * from "./at_rest.ts";
