/**
 * A peel's enrollment record, as the `enrollments` bucket keeps it under the peel's id, and the
 * state machine it follows: `pending → approved → issued` (creds downloaded) `→ active`
 * (connected) `→ revoked`, or `pending → rejected`; from any of them `deleted` (a key that may
 * hold creds is revoked first), after which the peel may enroll again under its id with a new key.
 * Every transition names its time and actor, and the history and the keys ever revoked carry
 * over to the new enrollment. The record carries the peel's box public key, to which the master
 * seals that peel's secrets.
 * @module
 */
import { createHash } from "node:crypto";
import * as s from "../schema/mod.ts";
import { PEEL_ID_PATTERN } from "../bus/subjects.ts";

/** Every status, in the order of the normal course. */
export const ENROLLMENT_STATUSES = [
  "pending",
  "approved",
  "issued",
  "active",
  "revoked",
  "rejected",
  "deleted",
] as const;
/** One of {@linkcode ENROLLMENT_STATUSES}. */
export type EnrollmentStatus = typeof ENROLLMENT_STATUSES[number];

/** A public user nkey: `U` and 55 base32 characters. */
export const USER_KEY_PATTERN = /^U[A-Z2-7]{55}$/;

/** A peel id, as it enrolls. */
export const PeelId = s.string({
  pattern: PEEL_ID_PATTERN,
  expected: "a peel id: a letter or digit, then letters, digits, _ or -, at most 128 characters",
});

/** A public user nkey. */
export const UserKey = s.string({ pattern: USER_KEY_PATTERN, expected: "a public user nkey (U…)" });

/** One transition: to what, when (ISO time) and by whom (`peel:<id>`, `cli:<user>`, `policy:…`). */
export const Transition = s.object({
  status: s.literal(...ENROLLMENT_STATUSES),
  at: s.string(),
  actor: s.string(),
}, { strict: false });
/** One transition. */
export type Transition = s.Infer<typeof Transition>;

/** Validator of a stored record (newer fields are kept out, not refused). */
export const EnrollmentRecord = s.object({
  /** The enrollment id: the peel's id. */
  id: PeelId,
  /** The peel's public user nkey: the NATS user its creds are issued to. */
  nkey: UserKey,
  /** The peel's box public key (base64, `encodeBoxPublicKey`). */
  box_public_key: s.string({ minLength: 1 }),
  status: s.literal(...ENROLLMENT_STATUSES),
  created: s.string(),
  updated: s.string(),
  /** The user JWT issued at the first download. */
  jwt: s.optional(s.string()),
  /** When the user was revoked, in unix seconds (the account's revocation entry). */
  revoked_at: s.optional(s.int({ min: 0 })),
  /** Keys of earlier enrollments under this id (deleted since), revoked: key → unix seconds. */
  revoked_keys: s.optional(s.record(s.int({ min: 0 }))),
  history: s.array(Transition),
}, { strict: false });
/** A peel's enrollment record. */
export type EnrollmentRecord = s.Infer<typeof EnrollmentRecord>;

/** A record as the admin CLI sees it: without the JWT. */
export type EnrollmentSummary = Omit<EnrollmentRecord, "jwt">;

/** The record without its JWT. */
export function summarize(r: EnrollmentRecord): EnrollmentSummary {
  const { jwt: _jwt, ...rest } = r;
  return rest;
}

/** Statuses each status may move to. */
const NEXT: Readonly<Record<EnrollmentStatus, readonly EnrollmentStatus[]>> = {
  pending: ["approved", "rejected", "deleted"],
  approved: ["issued", "revoked"],
  issued: ["active", "revoked"],
  active: ["revoked"],
  revoked: ["deleted"],
  rejected: ["deleted"],
  deleted: [],
};

/** Statuses in which the peel's key may hold creds: deleting revokes it first. */
export const MAY_HOLD_CREDS: readonly EnrollmentStatus[] = ["approved", "issued", "active"];

/** Every user key revoked under this record's id (key → unix seconds), the current one included. */
export function revokedKeys(r: EnrollmentRecord): Record<string, number> {
  return {
    ...r.revoked_keys,
    ...(r.revoked_at === undefined ? {} : { [r.nkey]: r.revoked_at }),
  };
}

const COURSE: readonly EnrollmentStatus[] = ["pending", "approved", "issued", "active", "revoked"];

/**
 * What moving a record from `from` to `to` does: `change`, nothing (`same`: it is there or
 * past it on the normal course, so repeating a step is harmless), or `refuse`.
 */
export function transitionKind(
  from: EnrollmentStatus,
  to: EnrollmentStatus,
): "change" | "same" | "refuse" {
  if (from === to) return "same";
  if (NEXT[from].includes(to)) return "change";
  const [a, b] = [COURSE.indexOf(from), COURSE.indexOf(to)];
  return a >= 0 && b >= 0 && b < a ? "same" : "refuse";
}

/** SHA-256 of `data`, as colon-separated hex pairs (as `salt-key -f` prints). */
export function fingerprint(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex").match(/../g)!.join(":");
}
