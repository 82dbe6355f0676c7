/**
 * Pushing an updated account JWT to the servers at run time (a revocation, new signing keys):
 * the full resolver of every server in the cluster takes it from `$SYS.REQ.CLAIMS.UPDATE`, sent
 * by a user of the system account.
 * @module
 */
import type { NatsConnection } from "nats";

/** The subject servers take account JWT updates on. */
export const CLAIMS_UPDATE = "$SYS.REQ.CLAIMS.UPDATE";

/** A server refused an account update. */
export class AccountUpdateError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AccountUpdateError";
  }
}

/** Send `accountJwt` over `sys` (a system account connection); resolves once a server stored it. */
export async function pushAccountJwt(sys: NatsConnection, accountJwt: string): Promise<void> {
  const reply = await sys.request(CLAIMS_UPDATE, new TextEncoder().encode(accountJwt), {
    timeout: 5_000,
  });
  const body = JSON.parse(new TextDecoder().decode(reply.data)) as {
    data?: { code?: number; message?: string };
    error?: { code?: number; description?: string };
  };
  if (body.error || body.data?.code !== 200) {
    throw new AccountUpdateError(
      `Cannot update account: ${body.error?.description ?? body.data?.message ?? "no answer"}`,
    );
  }
}
