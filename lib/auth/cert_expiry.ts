/**
 * Certificate expiry made visible: a daemon checks the TLS certificates it presents at start
 * and logs a warning when one expires within 14 days, so operators renew before connections
 * start failing.
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { Logger } from "../log/mod.ts";

/** How many days ahead an expiring certificate is reported. */
export const CERT_WARN_DAYS = 14;

const DAY_MS = 86_400_000;

/** When the first certificate in the PEM file at `path` stops being valid. */
export async function certNotAfter(path: string): Promise<Date> {
  const text = await Deno.readTextFile(path);
  try {
    return new X509Certificate(text).validToDate;
  } catch (e) {
    throw new TypeError(`Invalid certificate file "${path}": expected a PEM certificate`, {
      cause: e,
    });
  }
}

/**
 * Log a warning when the certificate at `path` (`what` names its use) expires within
 * {@linkcode CERT_WARN_DAYS} days of `now`, or has expired; returns the days left.
 */
export async function warnIfCertExpiring(
  path: string,
  what: string,
  log: Logger,
  now = Date.now(),
): Promise<number> {
  const notAfter = await certNotAfter(path);
  const days = Math.floor((notAfter.getTime() - now) / DAY_MS);
  if (days < CERT_WARN_DAYS) {
    log.warn(days < 0 ? "TLS certificate has expired" : "TLS certificate expires soon", {
      certificate: what,
      file: path,
      not_after: notAfter.toISOString(),
      days_left: days,
    });
  }
  return days;
}
