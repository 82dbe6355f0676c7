/**
 * NATS JWTs as nats-server 2.9 reads them (claims version 2, `ed25519-nkey`): encoding a claim
 * set signed by an nkey, decoding, and verifying one token's signature and validity window. The
 * issuer chain (operator → account → user) is checked by `chain.ts`.
 *
 * @example
 * ```ts
 * import { createOperator } from "nkeys.js";
 * const op = createOperator();
 * const token = encodeJwt({ sub: op.getPublicKey(), name: "op", nats: { type: "operator", version: 2 } }, op);
 * verifyJwt(token).nats.type; // "operator"
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { fromPublic, type KeyPair } from "nkeys.js";

/** Publish or subscribe permission: subjects allowed and denied (`*` and `>` wildcards). */
export interface SubjectPermission {
  /** Subjects allowed; nothing else is. */
  allow?: string[];
  /** Subjects denied even when allowed. */
  deny?: string[];
}

/** How many replies a user may send to the reply subjects of requests it received. */
export interface ResponsePermission {
  /** Replies per request. */
  max: number;
  /** How long a request may be answered, in nanoseconds (0: the server's default). */
  ttl: number;
}

/** The operator's own claims. */
export interface OperatorNats {
  type: "operator";
  version: 2;
  /** Keys that may sign accounts instead of the operator's identity key. */
  signing_keys?: string[];
  /** The system account's public key. */
  system_account?: string;
  /** Accept only accounts signed by a signing key, never by the identity key. */
  strict_signing_key_usage?: boolean;
}

/** An account's limits; -1 is unlimited. JetStream is enabled when a storage limit is not 0. */
export interface AccountLimits {
  subs: number;
  data: number;
  payload: number;
  imports: number;
  exports: number;
  wildcards: boolean;
  conn: number;
  leaf: number;
  mem_storage: number;
  disk_storage: number;
  streams: number;
  consumer: number;
}

/** An account's claims. */
export interface AccountNats {
  type: "account";
  version: 2;
  limits: AccountLimits;
  /** Keys that may sign this account's users. */
  signing_keys?: string[];
  /** User public key → unix time: user JWTs issued at or before it are refused. */
  revocations?: Record<string, number>;
}

/** A user's claims. */
export interface UserNats {
  type: "user";
  version: 2;
  pub: SubjectPermission;
  sub: SubjectPermission;
  resp?: ResponsePermission;
  subs: number;
  data: number;
  payload: number;
  /** The account's identity key, when a signing key issued this user. */
  issuer_account?: string;
  /** Free-form tags (`role:peel`). */
  tags?: string[];
}

/** Claims of any of the three kinds. */
export type NatsClaims = OperatorNats | AccountNats | UserNats;

/** A JWT's claim set. Times are unix seconds. */
export interface Claims<N extends NatsClaims = NatsClaims> {
  /** Id: a hash of the other claims. */
  jti: string;
  /** Issued at. */
  iat: number;
  /** Issuer: the signing public key. */
  iss: string;
  /** Subject: the public key the token is about. */
  sub: string;
  /** Display name (a peel's id). */
  name?: string;
  /** Expiry; absent means never. */
  exp?: number;
  /** Not valid before. */
  nbf?: number;
  /** The NATS part. */
  nats: N;
}

/** What a caller fills in; `jti`, `iat` and `iss` are set when signing. */
export type ClaimsInput<N extends NatsClaims> = Omit<Claims<N>, "jti" | "iat" | "iss"> & {
  iat?: number;
};

/** A token that is malformed, badly signed, expired or not yet valid. */
export class JwtError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "JwtError";
  }
}

const HEADER = { typ: "JWT", alg: "ed25519-nkey" };
const enc = new TextEncoder();
const dec = new TextDecoder();

function b64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Unix seconds now. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Sign `claims` with `signer`: a JWT whose issuer is the signer's public key. */
export function encodeJwt<N extends NatsClaims>(claims: ClaimsInput<N>, signer: KeyPair): string {
  const { iat, ...rest } = claims;
  const body: Omit<Claims<N>, "jti"> = {
    ...rest,
    iat: iat ?? nowSeconds(),
    iss: signer.getPublicKey(),
  };
  // As nats-io/jwt does: the id is the SHA-512/256 of the claims without it, in base32.
  const jti = base32(createHash("sha512-256").update(JSON.stringify(body)).digest());
  const signingInput = `${b64url(enc.encode(JSON.stringify(HEADER)))}.${
    b64url(enc.encode(JSON.stringify({ jti, ...body })))
  }`;
  return `${signingInput}.${b64url(signer.sign(enc.encode(signingInput)))}`;
}

function part(token: string, i: number): unknown {
  const p = token.split(".")[i];
  if (p === undefined) throw new JwtError(`Malformed JWT: expected three parts`);
  try {
    return JSON.parse(dec.decode(Uint8Array.fromBase64(p, { alphabet: "base64url" })));
  } catch (e) {
    throw new JwtError(`Malformed JWT: part ${i + 1} is not base64url JSON`, { cause: e });
  }
}

/** Read a token's claims without checking anything. */
export function decodeJwt(token: string): Claims {
  if (token.split(".").length !== 3) throw new JwtError(`Malformed JWT: expected three parts`);
  const claims = part(token, 1) as Claims;
  if (
    typeof claims !== "object" || claims === null || typeof claims.iss !== "string" ||
    typeof claims.sub !== "string" || typeof claims.nats?.type !== "string"
  ) {
    throw new JwtError(`Malformed JWT: missing iss, sub or nats.type`);
  }
  return claims;
}

/**
 * Decode `token` and check its header, its signature by its issuer and its validity window at
 * `now` (unix seconds). Who may be the issuer is the chain's business (`verifyChain`).
 */
export function verifyJwt(token: string, now = nowSeconds()): Claims {
  const header = part(token, 0) as { typ?: string; alg?: string };
  if (header?.typ?.toUpperCase() !== "JWT" || header.alg !== HEADER.alg) {
    throw new JwtError(`Unsupported JWT header ${JSON.stringify(header)}: expected ed25519-nkey`);
  }
  const claims = decodeJwt(token);
  const [h, p, s] = token.split(".") as [string, string, string];
  let ok = false;
  try {
    ok = fromPublic(claims.iss).verify(
      enc.encode(`${h}.${p}`),
      Uint8Array.fromBase64(s, { alphabet: "base64url" }),
    );
  } catch (e) {
    throw new JwtError(`Invalid JWT issuer "${claims.iss}": not a public nkey`, { cause: e });
  }
  if (!ok) throw new JwtError(`Invalid JWT signature for "${claims.name ?? claims.sub}"`);
  if (claims.exp !== undefined && claims.exp <= now) {
    throw new JwtError(`JWT of "${claims.name ?? claims.sub}" expired at ${isoTime(claims.exp)}`);
  }
  if (claims.nbf !== undefined && claims.nbf > now) {
    throw new JwtError(
      `JWT of "${claims.name ?? claims.sub}" is not valid before ${isoTime(claims.nbf)}`,
    );
  }
  return claims;
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
