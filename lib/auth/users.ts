/**
 * Operator, account and user JWTs as a Zester deployment issues them: the operator with a
 * signing key (its identity key can stay offline), accounts signed by that signing key, and
 * users signed by their account's signing key with the permissions of their role.
 * @module
 */
import { createAccount, createOperator, createUser, fromPublic, type KeyPair } from "nkeys.js";
import { type Creds, readCredsFile } from "./creds.ts";
import { type AccountLimits, decodeJwt, encodeJwt } from "./jwt.ts";
import { readSeedFile, seedText } from "./seed_file.ts";
import { type Role, roleClaims } from "./roles.ts";

/** The name of the account every Zester process lives in. */
export const ACCOUNT_NAME = "ZESTER";

/** An identity key and the signing key that acts for it. */
export interface SigningIdentity {
  /** Display name (`ZESTER`, `SYS`, the operator's). */
  name: string;
  /** The identity key: its public key is the account's or operator's id. */
  identity: KeyPair;
  /** The key that signs on its behalf. */
  signing: KeyPair;
}

/** No limits; JetStream on (storage limits other than 0 enable it for the account). */
export const UNLIMITED: AccountLimits = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

/** No JetStream: the system account's limits. */
const NO_JETSTREAM: AccountLimits = {
  ...UNLIMITED,
  mem_storage: 0,
  disk_storage: 0,
  streams: 0,
  consumer: 0,
};

/** A new identity with a signing key: `kind` chooses operator or account keys. */
export function newIdentity(name: string, kind: "operator" | "account"): SigningIdentity {
  const create = kind === "operator" ? createOperator : createAccount;
  return { name, identity: create(), signing: create() };
}

/**
 * The operator JWT, self-signed by the identity key (the only use of that key): names its
 * signing key, the system account, and accepts only accounts signed by a signing key.
 */
export function operatorJwt(op: SigningIdentity, systemAccount: string): string {
  return encodeJwt({
    sub: op.identity.getPublicKey(),
    name: op.name,
    nats: {
      type: "operator",
      version: 2,
      signing_keys: [op.signing.getPublicKey()],
      system_account: systemAccount,
      strict_signing_key_usage: true,
    },
  }, op.identity);
}

/** Options for {@linkcode accountJwt}. */
export interface AccountOptions {
  /** JetStream on (the Zester account) or off (the system account). */
  jetstream: boolean;
  /** User public key → unix time: users issued at or before it are refused. */
  revocations?: Record<string, number>;
}

/**
 * An account JWT signed by the operator's signing key. Only the signing key of `op` is used, so
 * a master that re-signs the account (revocations) needs no more of the operator.
 */
export function accountJwt(
  op: Pick<SigningIdentity, "signing">,
  acc: SigningIdentity,
  opts: AccountOptions,
): string {
  return encodeJwt({
    sub: acc.identity.getPublicKey(),
    name: acc.name,
    nats: {
      type: "account",
      version: 2,
      limits: opts.jetstream ? UNLIMITED : NO_JETSTREAM,
      signing_keys: [acc.signing.getPublicKey()],
      ...(opts.revocations ? { revocations: opts.revocations } : {}),
    },
  }, op.signing);
}

/** What a user is. */
export interface UserOptions {
  /** Display name; for a peel, its id. */
  name: string;
  /** What it may do (`full`: no limits, for the system account's user). */
  role: Role | "full";
  /** Expiry in unix seconds; none by default. */
  expires?: number;
}

/**
 * A user JWT for the public user key `userKey`, signed by the account's signing key: how the
 * master issues an enrolled peel, whose seed never leaves the peel.
 */
export function userJwt(
  acc: Pick<SigningIdentity, "identity" | "signing">,
  opts: UserOptions,
  userKey: string,
): string {
  const perms = opts.role === "full"
    ? { pub: {}, sub: {} }
    : roleClaims(opts.role, opts.name, userKey);
  return encodeJwt({
    sub: userKey,
    name: opts.name,
    ...(opts.expires !== undefined ? { exp: opts.expires } : {}),
    nats: {
      type: "user",
      version: 2,
      ...perms,
      subs: -1,
      data: -1,
      payload: -1,
      issuer_account: acc.identity.getPublicKey(),
      tags: [`role:${opts.role}`],
    },
  }, acc.signing);
}

/** A new user of `acc`: a fresh nkey and a JWT signed by the account's signing key. */
export function issueUser(acc: SigningIdentity, opts: UserOptions): Creds {
  const user = createUser();
  return {
    jwt: userJwt(acc, opts, user.getPublicKey()),
    seed: seedText(user),
  };
}

/**
 * The Zester account as its signing key acts for it: the seed at `signingKeyPath`, and the
 * account's public key read from the creds at `credsPath` (their `issuer_account`), so that
 * the account's identity key is not needed.
 */
export async function loadAccountSigner(
  credsPath: string,
  signingKeyPath: string,
): Promise<SigningIdentity> {
  const claims = decodeJwt((await readCredsFile(credsPath)).jwt).nats;
  const account = claims.type === "user" ? claims.issuer_account : undefined;
  if (!account) {
    throw new TypeError(`Creds "${credsPath}" do not name the account that issued them`);
  }
  return {
    name: ACCOUNT_NAME,
    identity: fromPublic(account),
    signing: await readSeedFile(signingKeyPath, "A"),
  };
}
