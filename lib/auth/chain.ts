/**
 * Verifying a user's whole chain of trust as nats-server does: the operator JWT is self-signed,
 * the account is signed by the operator (or one of its signing keys), the user by the account
 * (or one of its signing keys, naming the account as `issuer_account`), no token is expired, and
 * the account has not revoked the user.
 * @module
 */
import {
  type AccountNats,
  type Claims,
  JwtError,
  nowSeconds,
  type OperatorNats,
  type UserNats,
  verifyJwt,
} from "./jwt.ts";

/** The three tokens of a chain. */
export interface Chain {
  operator: string;
  account: string;
  user: string;
}

/** The verified claims of a chain. */
export interface VerifiedChain {
  operator: Claims<OperatorNats>;
  account: Claims<AccountNats>;
  user: Claims<UserNats>;
}

function ofType<N extends { type: string }>(
  c: Claims,
  type: N["type"],
): Claims<N & Claims["nats"]> {
  if (c.nats.type !== type) {
    throw new JwtError(`Expected a ${type} JWT for "${c.name ?? c.sub}", got ${c.nats.type}`);
  }
  return c as Claims<N & Claims["nats"]>;
}

/** Verify every link of `chain` at `now` (unix seconds); throws `JwtError` naming the break. */
export function verifyChain(chain: Chain, now = nowSeconds()): VerifiedChain {
  const operator = ofType<OperatorNats>(verifyJwt(chain.operator, now), "operator");
  if (operator.iss !== operator.sub) {
    throw new JwtError(`Operator JWT "${operator.name ?? operator.sub}" is not self-signed`);
  }
  const account = ofType<AccountNats>(verifyJwt(chain.account, now), "account");
  const opKeys = operator.nats.strict_signing_key_usage
    ? operator.nats.signing_keys ?? []
    : [operator.sub, ...operator.nats.signing_keys ?? []];
  if (!opKeys.includes(account.iss)) {
    throw new JwtError(
      `Account "${
        account.name ?? account.sub
      }" is signed by "${account.iss}", not by operator "${operator.name}"`,
    );
  }
  const user = ofType<UserNats>(verifyJwt(chain.user, now), "user");
  if (!(user.iss === account.sub || account.nats.signing_keys?.includes(user.iss))) {
    throw new JwtError(
      `User "${
        user.name ?? user.sub
      }" is signed by "${user.iss}", not by account "${account.name}"`,
    );
  }
  if (user.iss !== account.sub && user.nats.issuer_account !== account.sub) {
    throw new JwtError(
      `User "${user.name ?? user.sub}" does not name account "${account.name}" as issuer_account`,
    );
  }
  const revoked = account.nats.revocations?.[user.sub] ?? account.nats.revocations?.["*"];
  if (revoked !== undefined && user.iat <= revoked) {
    throw new JwtError(`User "${user.name ?? user.sub}" is revoked by account "${account.name}"`);
  }
  return { operator, account, user };
}
