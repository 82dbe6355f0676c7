/**
 * Readiness checks both daemons run: the NATS connection, and the expiry of the certificates
 * they present or trust.
 * @module
 */
import type { NatsConnection } from "nats";
import { CERT_WARN_DAYS } from "../auth/cert_expiry.ts";
import { certificateExpiry } from "../auth/x509.ts";
import type { Check } from "./readiness.ts";

const DAY_MS = 86_400_000;

/** `nats`: a round trip to the server; down while disconnected. */
export function natsCheck(nc: NatsConnection): Check {
  return {
    name: "nats",
    run: async () => ({ status: "ok", message: `Round trip ${await nc.rtt()} ms` }),
  };
}

/**
 * `certificate`, when TLS is on: days left on the soonest-expiring of `certs` (config key →
 * PEM file: the client certificate `nats_cert`, the CA `nats_ca`, a master's enrollment server
 * certificate `enroll.tls_cert`): `down` once expired, `degraded` under
 * {@linkcode CERT_WARN_DAYS} days. No check when none is set.
 */
export function certificateChecks(certs: Record<string, string | undefined>): Check[] {
  const files = Object.entries(certs).filter((e): e is [string, string] => !!e[1]);
  if (!files.length) return [];
  return [{
    name: "certificate",
    run: async () => {
      let soonest = { key: "", at: new Date(8.64e15) };
      for (const [key, path] of files) {
        let at: Date;
        try {
          at = certificateExpiry(await Deno.readTextFile(path));
        } catch (e) {
          throw new Error(`Cannot read ${key} "${path}": ${(e as Error).message}`, { cause: e });
        }
        if (at < soonest.at) soonest = { key, at };
      }
      const days = Math.floor((soonest.at.getTime() - Date.now()) / DAY_MS);
      const when = `${soonest.key} expires ${soonest.at.toISOString()}`;
      if (days < 0) return { status: "down", message: `Expired: ${when}` };
      return {
        status: days < CERT_WARN_DAYS ? "degraded" : "ok",
        message: `${days} days left: ${when}`,
      };
    },
  }];
}
