/**
 * What peels, masters and the admin CLI exchange about enrollment: the HTTPS API's paths and
 * JSON bodies, the nonce a peel signs to prove it holds its key, the signed `Authorization`
 * header of the creds download, and the admin requests on `zester.admin.enroll.<op>`.
 * @module
 */
import { fromPublic, type KeyPair } from "nkeys.js";
import * as s from "../schema/mod.ts";
import { ENROLLMENT_STATUSES, PeelId, UserKey } from "./record.ts";

/** Base path of the enrollment API on the master's HTTPS listener. */
export const ENROLL_PATH = "/api/v1/enroll";

/** How long a nonce may be answered. */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/** `POST /api/v1/enroll/challenge`: a peel asks for a nonce to sign. */
export const ChallengeRequest = s.object({ peel_id: PeelId, nkey: UserKey });
/** A challenge request. */
export type ChallengeRequest = s.Infer<typeof ChallengeRequest>;

/** A nonce as the master hands it out: 32 random bytes, base64url. */
const Nonce = s.string({ pattern: /^[A-Za-z0-9_-]{43}$/, expected: "a nonce from /challenge" });

/** A base64url ed25519 signature. */
const Signature = s.string({
  pattern: /^[A-Za-z0-9_-]{86}$/,
  expected: "a base64url ed25519 signature",
});

/**
 * `POST /api/v1/enroll`: the nonce signed with the peel's nkey, its box public key, and a
 * bootstrap token for the `auto-trusted` policy.
 */
export const EnrollRequest = s.object({
  peel_id: PeelId,
  nkey: UserKey,
  box_public_key: s.string({ minLength: 1, maxLength: 100 }),
  nonce: Nonce,
  signature: Signature,
  token: s.optional(s.string({ minLength: 1, maxLength: 1024 })),
});
/** An enroll request. */
export type EnrollRequest = s.Infer<typeof EnrollRequest>;

/** A challenge as the `enroll-challenges` bucket keeps it, under its nonce. */
export const StoredChallenge = s.object({
  peel_id: PeelId,
  nkey: UserKey,
  /** When it was handed out, in milliseconds since the epoch. */
  created: s.number(),
}, { strict: false });
/** A stored challenge. */
export type StoredChallenge = s.Infer<typeof StoredChallenge>;

/** A fresh nonce. */
export function newNonce(): string {
  return crypto.getRandomValues(new Uint8Array(32)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

/** `text` signed with `key`, base64url. */
export function signText(key: KeyPair, text: string): string {
  return key.sign(new TextEncoder().encode(text)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

/** True when `signature` (base64url) is `nkey`'s signature of `text`. */
export function verifyText(nkey: string, text: string, signature: string): boolean {
  try {
    return fromPublic(nkey).verify(
      new TextEncoder().encode(text),
      Uint8Array.fromBase64(signature, { alphabet: "base64url" }),
    );
  } catch {
    return false;
  }
}

/** The `Authorization` header of a creds download: the enrollment id signed with the nkey. */
export function credsAuthorization(key: KeyPair, id: string): string {
  return `Nkey ${key.getPublicKey()}:${signText(key, id)}`;
}

/** The nkey and signature of a creds download's `Authorization` header, or undefined. */
export function parseCredsAuthorization(
  header: string | null,
): { nkey: string; signature: string } | undefined {
  const m = /^Nkey (U[A-Z2-7]{55}):([A-Za-z0-9_-]{86})$/.exec(header ?? "");
  return m ? { nkey: m[1]!, signature: m[2]! } : undefined;
}

/** The operations of `zester.admin.enroll.<op>`. */
export const ADMIN_OPS = ["list", "show", "accept", "reject", "revoke", "delete"] as const;
/** One of {@linkcode ADMIN_OPS}. */
export type AdminOp = typeof ADMIN_OPS[number];

/**
 * An admin request: `target` is a peel id (a glob for `accept`, which then takes every pending
 * match), `status` filters `list`, `actor` is who the CLI says runs it.
 */
export const AdminRequest = s.object({
  target: s.optional(s.string({ minLength: 1, maxLength: 256 })),
  status: s.optional(s.literal(...ENROLLMENT_STATUSES)),
  actor: s.optional(s.string({ minLength: 1, maxLength: 256 })),
});
/** An admin request. */
export type AdminRequest = s.Infer<typeof AdminRequest>;
