/**
 * Enrollment records in the `enrollments` bucket: created once per peel id, read, listed, and
 * moved through their states by compare-and-set on the key's revision, so that masters side by
 * side cannot both make the same transition.
 * @module
 */
import type { KV } from "nats";
import { decode, encode, isJsError, JS_ERRORS } from "../bus/mod.ts";
import {
  EnrollmentRecord,
  type EnrollmentStatus,
  revokedKeys,
  type Transition,
  transitionKind,
} from "./record.ts";

/** No enrollment record for an id. */
export class EnrollmentNotFoundError extends Error {
  /** Build the error for peel `id`. */
  constructor(id: string) {
    super(`No enrollment record found for "${id}"`);
    this.name = "EnrollmentNotFoundError";
  }
}

/** A transition the record's state does not allow. */
export class EnrollmentStateError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EnrollmentStateError";
  }
}

/** The record of peel `id` and its revision, or undefined. */
export async function readEnrollment(
  kv: KV,
  id: string,
): Promise<{ record: EnrollmentRecord; revision: number } | undefined> {
  const e = await kv.get(id);
  if (!e || e.operation !== "PUT" || e.length === 0) return undefined;
  return {
    record: EnrollmentRecord.parse(decode(e.value), `enrollments.${id}`),
    revision: e.revision,
  };
}

/** Every record, in id order; one that does not parse is skipped and named to `skip`. */
export async function listEnrollments(
  kv: KV,
  skip?: (id: string, e: Error) => void,
): Promise<EnrollmentRecord[]> {
  const ids: string[] = [];
  for await (const k of await kv.keys()) ids.push(k);
  const out: EnrollmentRecord[] = [];
  for (const id of ids.sort()) {
    try {
      const r = await readEnrollment(kv, id);
      if (r) out.push(r.record);
    } catch (e) {
      skip?.(id, e as Error);
    }
  }
  return out;
}

/**
 * Store `record` as new; when peel `record.id` already has one, resolve with that one instead
 * (`created: false`), unchanged. A deleted record is replaced (`created: true`), keeping its
 * history and its revoked keys; a key revoked under this id is refused with
 * {@linkcode EnrollmentStateError}.
 */
export async function createEnrollment(
  kv: KV,
  record: EnrollmentRecord,
): Promise<{ record: EnrollmentRecord; created: boolean }> {
  for (;;) {
    try {
      await kv.create(record.id, encode(record));
      return { record, created: true };
    } catch (e) {
      if (!isJsError(e, JS_ERRORS.wrongLastSequence)) throw e;
    }
    const existing = await readEnrollment(kv, record.id);
    if (!existing) throw new EnrollmentNotFoundError(record.id);
    if (existing.record.status !== "deleted") return { record: existing.record, created: false };
    const revoked = revokedKeys(existing.record);
    if (record.nkey in revoked) {
      throw new EnrollmentStateError(
        `Key "${record.nkey}" was revoked for "${record.id}": enroll with a new key`,
      );
    }
    const next: EnrollmentRecord = {
      ...record,
      ...(Object.keys(revoked).length ? { revoked_keys: revoked } : {}),
      history: [...existing.record.history, ...record.history],
    };
    try {
      await kv.update(record.id, encode(next), existing.revision);
      return { record: next, created: true };
    } catch (e) {
      if (!isJsError(e, JS_ERRORS.wrongLastSequence)) throw e;
    }
  }
}

/**
 * Move peel `id`'s record to `to`, recording `actor` and the time, with `patch` applied; by
 * compare-and-set, re-reading when another writer came first. A record already there (or past
 * it) is left alone (`changed: false`); a transition the state does not allow throws
 * {@linkcode EnrollmentStateError}.
 */
export async function transitionEnrollment(
  kv: KV,
  id: string,
  to: EnrollmentStatus,
  actor: string,
  patch: Partial<Pick<EnrollmentRecord, "jwt" | "revoked_at">> = {},
): Promise<{ record: EnrollmentRecord; changed: boolean }> {
  for (;;) {
    const current = await readEnrollment(kv, id);
    if (!current) throw new EnrollmentNotFoundError(id);
    const { record, revision } = current;
    const kind = transitionKind(record.status, to);
    if (kind === "same") return { record, changed: false };
    if (kind === "refuse") {
      throw new EnrollmentStateError(
        `Cannot make enrollment "${id}" ${to}: it is ${record.status}`,
      );
    }
    const at = new Date().toISOString();
    const step: Transition = { status: to, at, actor };
    const next: EnrollmentRecord = {
      ...record,
      ...patch,
      status: to,
      updated: at,
      history: [...record.history, step],
    };
    try {
      await kv.update(id, encode(next), revision);
      return { record: next, changed: true };
    } catch (e) {
      if (!isJsError(e, JS_ERRORS.wrongLastSequence)) throw e;
    }
  }
}
