/**
 * What the master signs for enrollment: a peel's user JWT (with the account signing key; the
 * account's identity key is read from the master's own creds, whose JWT names it as
 * `issuer_account`), and the account JWT carrying revocations (with the operator signing key),
 * pushed to the servers through the system account. The operator's identity key stays offline.
 * @module
 */
import type { KeyPair } from "nkeys.js";
import {
  accountJwt,
  loadAccountSigner,
  pushAccountJwt,
  readSeedFile,
  type SigningIdentity,
  userJwt,
} from "../lib/auth/mod.ts";
import { type BusOptions, closeBus, connectBus } from "../lib/bus/mod.ts";
import type { EnrollmentSection } from "../lib/config/mod.ts";

/** The master's signing keys for enrollment. */
export class EnrollSigner {
  readonly #account: SigningIdentity;
  readonly #operatorSigning: KeyPair;
  readonly #system: BusOptions;

  private constructor(account: SigningIdentity, operatorSigning: KeyPair, system: BusOptions) {
    this.#account = account;
    this.#operatorSigning = operatorSigning;
    this.#system = system;
  }

  /**
   * Read the keys `cfg` names; `masterCreds` is the master's own creds file and `bus` its
   * connection options (the system account's user connects the same way).
   */
  static async load(
    cfg: EnrollmentSection,
    masterCreds: string | undefined,
    bus: BusOptions,
  ): Promise<EnrollSigner> {
    if (!masterCreds) {
      throw new TypeError("Enrollment needs nats_creds: the master's creds name its account");
    }
    return new EnrollSigner(
      await loadAccountSigner(masterCreds, cfg.account_signing_key),
      await readSeedFile(cfg.operator_signing_key, "O"),
      { ...bus, credsFile: cfg.system_creds, name: `${bus.name}-sys` },
    );
  }

  /** The user JWT of peel `id` holding the user key `nkey`, with the peel role. */
  peelJwt(id: string, nkey: string): string {
    return userJwt(this.#account, { name: id, role: "peel" }, nkey);
  }

  /**
   * Sign the account JWT with `revocations` (user key → unix time) and push it to the
   * servers; resolves once a server stored it.
   */
  async pushRevocations(revocations: Record<string, number>): Promise<void> {
    const jwt = accountJwt({ signing: this.#operatorSigning }, this.#account, {
      jetstream: true,
      revocations,
    });
    const sys = await connectBus({ ...this.#system, connectTimeoutMs: 5_000 });
    try {
      await pushAccountJwt(sys, jwt);
    } finally {
      await closeBus(sys, 2_000);
    }
  }
}
