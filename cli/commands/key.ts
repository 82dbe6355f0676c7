/**
 * `zester key list|accept|reject|revoke|delete|show` (and salt-key's `-L -a -A -r -d`): the
 * enrollment records, changed through the masters on `zester.admin.enroll.<op>`, which check
 * each transition and, on a revoke (or the delete of a key that may hold creds), push the
 * revocation to the servers.
 * @module
 */
import type { NatsConnection } from "nats";
import { decode, encode, subjects } from "../../lib/bus/mod.ts";
import {
  type AdminOp,
  type AdminRequest,
  type EnrollmentSummary,
  fingerprint,
} from "../../lib/enroll/mod.ts";
import { decodeBoxPublicKey } from "../../lib/secrets/mod.ts";
import { type Format, isText, serialize, table } from "../output/mod.ts";

/** Ask the masters to do `op`; resolves with the records it returns, throws with their error. */
export async function keyRequest(
  nc: NatsConnection,
  op: AdminOp,
  req: AdminRequest,
): Promise<EnrollmentSummary[]> {
  let m;
  try {
    m = await nc.request(subjects.adminEnroll(op), encode(req), { timeout: 15_000 });
  } catch (e) {
    throw new Error(`No master answered the enrollment request: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const reply = decode(m.data) as { ok?: boolean; error?: string; records?: EnrollmentSummary[] };
  if (reply?.ok !== true || !Array.isArray(reply.records)) {
    throw new Error(reply?.error ?? "Malformed reply to the enrollment request");
  }
  return reply.records;
}

function lastActor(r: EnrollmentSummary): string {
  return r.history.at(-1)?.actor ?? "";
}

/** Render `key list`. */
export function renderKeyList(records: EnrollmentSummary[], format: Format): string {
  if (!isText(format)) return serialize(records, format);
  if (records.length === 0) return "No enrollments found.";
  return table(
    ["PEEL", "STATUS", "UPDATED", "BY"],
    records.map((r) => [r.id, r.status, r.updated, lastActor(r)]),
  );
}

/** Render what `key accept|reject|revoke|delete` changed or found: one `<peel>: <status>` per record. */
export function renderKeyChange(records: EnrollmentSummary[], format: Format): string {
  if (!isText(format)) return serialize(records, format);
  return records.map((r) => `${r.id}: ${r.status}`).join("\n");
}

/** Render `key show`: the record, its key fingerprints and its history. */
export function renderKeyShow(r: EnrollmentSummary, format: Format): string {
  const box = (() => {
    try {
      return fingerprint(decodeBoxPublicKey(r.box_public_key));
    } catch (e) {
      return `(unreadable: ${(e as Error).message})`;
    }
  })();
  const detail = { ...r, nkey_fingerprint: fingerprint(r.nkey), box_key_fingerprint: box };
  if (!isText(format)) return serialize(detail, format);
  const fields: [string, string | undefined][] = [
    ["Peel", r.id],
    ["Status", r.status],
    ["Nkey", r.nkey],
    ["Nkey fingerprint", detail.nkey_fingerprint],
    ["Box key", r.box_public_key],
    ["Box key fingerprint", box],
    ["Created", r.created],
    ["Updated", r.updated],
    [
      "Revoked at",
      r.revoked_at === undefined ? undefined : new Date(r.revoked_at * 1000).toISOString(),
    ],
    [
      "Earlier keys",
      r.revoked_keys && `${Object.keys(r.revoked_keys).join(", ")} (revoked)`,
    ],
  ];
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  return [
    ...fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`),
    "",
    table(["STATUS", "AT", "BY"], r.history.map((h) => [h.status, h.at, h.actor])),
  ].join("\n");
}
