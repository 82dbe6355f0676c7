/**
 * The enrollment API (`/api/v1/enroll…`), as in the product reference: a fresh peel asks for a
 * nonce, enrolls with the nonce signed by its nkey and its box public key, polls its status and,
 * once approved, downloads its user JWT with `Authorization: Nkey <key>:<signature of its id>`.
 * Nonces are single-use and live 5 minutes. Bad input gets 400, a failed proof 401, an unknown
 * id 404, a state that does not allow the call 409, each as `{"error": …}`.
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import type { KV } from "nats";
import { decode, encode, isJsError, JS_ERRORS } from "../lib/bus/mod.ts";
import type { EnrollmentSection } from "../lib/config/mod.ts";
import {
  CHALLENGE_TTL_MS,
  ChallengeRequest,
  createEnrollment,
  ENROLL_PATH,
  type EnrollmentRecord,
  EnrollmentStateError,
  EnrollRequest,
  MAY_HOLD_CREDS,
  newNonce,
  parseCredsAuthorization,
  PeelId,
  readEnrollment,
  StoredChallenge,
  transitionEnrollment,
  verifyText,
} from "../lib/enroll/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { SchemaError } from "../lib/schema/mod.ts";
import { BoxKeyError, decodeBoxPublicKey } from "../lib/secrets/mod.ts";
import { compileGlob } from "../lib/target/mod.ts";
import type { EnrollSigner } from "./enroll_signer.ts";
import { errorResponse } from "./https_server.ts";

/** What the API needs. */
export interface EnrollApiOptions {
  enrollments: KV;
  challenges: KV;
  signer: EnrollSigner;
  cfg: EnrollmentSection;
  log: Logger;
}

/** A request the API answers with an error status. */
class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

const CHALLENGE_REFUSED = "Challenge unknown, expired or already used";

async function jsonBody<T>(req: Request, schema: { parse(v: unknown, path?: string): T }) {
  let value: unknown;
  try {
    value = await req.json();
  } catch (e) {
    throw new ApiError(400, `Malformed JSON body: ${(e as Error).message}`);
  }
  return parseOr400(schema, value, "");
}

function parseOr400<T>(schema: { parse(v: unknown, path?: string): T }, v: unknown, path: string) {
  try {
    return schema.parse(v, path);
  } catch (e) {
    if (e instanceof SchemaError) throw new ApiError(400, e.message);
    throw e;
  }
}

/** The request handler of the enrollment API. */
export function enrollApi(opts: EnrollApiOptions): (req: Request) => Promise<Response> {
  const autoAccept = opts.cfg.auto_accept.map((g) => ({ glob: g, match: compileGlob(g) }));

  async function challenge(req: Request): Promise<Response> {
    const body = await jsonBody(req, ChallengeRequest);
    const nonce = newNonce();
    const created = Date.now();
    await opts.challenges.create(nonce, encode({ ...body, created } satisfies StoredChallenge));
    return Response.json({ nonce, expires: new Date(created + CHALLENGE_TTL_MS).toISOString() });
  }

  /** Take the challenge `nonce` out of the bucket: one use only, whoever comes first. */
  async function consume(nonce: string): Promise<StoredChallenge> {
    const e = await opts.challenges.get(nonce);
    if (!e || e.operation !== "PUT" || e.length === 0) throw new ApiError(401, CHALLENGE_REFUSED);
    try {
      await opts.challenges.delete(nonce, { previousSeq: e.revision });
    } catch (err) {
      if (isJsError(err, JS_ERRORS.wrongLastSequence)) throw new ApiError(401, CHALLENGE_REFUSED);
      throw err;
    }
    const ch = StoredChallenge.parse(decode(e.value), `enroll-challenges.${nonce}`);
    if (Date.now() - ch.created > CHALLENGE_TTL_MS) throw new ApiError(401, CHALLENGE_REFUSED);
    return ch;
  }

  async function tokenMatches(token: string): Promise<boolean> {
    const file = opts.cfg.bootstrap_token_file;
    if (!file) return false;
    const want = new TextEncoder().encode((await Deno.readTextFile(file)).trim());
    const got = new TextEncoder().encode(token);
    return want.length > 0 && want.length === got.length && timingSafeEqual(want, got);
  }

  /** Who approves a new enrollment at once, or undefined when an operator must. */
  function autoApprover(id: string, trusted: boolean): string | undefined {
    if (opts.cfg.policy === "auto-all") return "policy:auto-all";
    if (trusted) return "policy:auto-trusted";
    const hit = autoAccept.find((a) => a.match(id));
    return hit && `policy:auto_accept ${hit.glob}`;
  }

  async function enroll(req: Request): Promise<Response> {
    const body = await jsonBody(req, EnrollRequest);
    const ch = await consume(body.nonce);
    if (ch.peel_id !== body.peel_id || ch.nkey !== body.nkey) {
      throw new ApiError(401, "Challenge was handed out to another peel id or key");
    }
    if (!verifyText(body.nkey, body.nonce, body.signature)) {
      throw new ApiError(401, "Invalid signature of the challenge");
    }
    try {
      decodeBoxPublicKey(body.box_public_key, "box_public_key");
    } catch (e) {
      if (e instanceof BoxKeyError) throw new ApiError(400, e.message);
      throw e;
    }
    let trusted = false;
    if (body.token !== undefined && opts.cfg.policy === "auto-trusted") {
      if (!await tokenMatches(body.token)) throw new ApiError(401, "Invalid bootstrap token");
      trusted = true;
    }
    const at = new Date().toISOString();
    const actor = `peel:${body.peel_id}`;
    const { record } = await createEnrollment(opts.enrollments, {
      id: body.peel_id,
      nkey: body.nkey,
      box_public_key: body.box_public_key,
      status: "pending",
      created: at,
      updated: at,
      history: [{ status: "pending", at, actor }],
    }).catch((e) => {
      if (e instanceof EnrollmentStateError) throw new ApiError(409, e.message);
      throw e;
    });
    if (record.nkey !== body.nkey) {
      throw new ApiError(409, `Peel "${body.peel_id}" is already enrolled with another key`);
    }
    let status = record.status;
    const approver = status === "pending" ? autoApprover(body.peel_id, trusted) : undefined;
    if (approver) {
      status = (await transitionEnrollment(opts.enrollments, record.id, "approved", approver))
        .record.status;
    }
    opts.log.info("enrollment requested", { peel_id: body.peel_id, status, approver });
    return Response.json({ id: record.id, status }, { status: 202 });
  }

  async function find(rawId: string): Promise<EnrollmentRecord> {
    const id = parseOr400(PeelId, decodeURIComponent(rawId), "id");
    const found = await readEnrollment(opts.enrollments, id);
    if (!found) throw new ApiError(404, `No enrollment record found for "${id}"`);
    return found.record;
  }

  async function creds(req: Request, rawId: string): Promise<Response> {
    const auth = parseCredsAuthorization(req.headers.get("authorization"));
    if (!auth) {
      throw new ApiError(
        401,
        "Missing or malformed Authorization: expected Nkey <key>:<signature>",
      );
    }
    const record = await find(rawId);
    if (auth.nkey !== record.nkey || !verifyText(auth.nkey, record.id, auth.signature)) {
      throw new ApiError(401, `Invalid signature for enrollment "${record.id}"`);
    }
    if (!MAY_HOLD_CREDS.includes(record.status)) {
      throw new ApiError(
        409,
        `Enrollment "${record.id}" is ${record.status}: no creds to download`,
      );
    }
    const jwt = record.jwt ?? opts.signer.peelJwt(record.id, record.nkey);
    const issued = await transitionEnrollment(
      opts.enrollments,
      record.id,
      "issued",
      `peel:${record.id}`,
      record.jwt ? {} : { jwt },
    );
    if (issued.changed) opts.log.info("enrollment creds issued", { peel_id: record.id });
    return Response.json({ jwt: issued.record.jwt ?? jwt });
  }

  async function route(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname.replace(/\/+$/, "");
    const rest = path.startsWith(ENROLL_PATH) ? path.slice(ENROLL_PATH.length) : undefined;
    const m = rest === undefined ? null : /^\/([^/]+)(\/creds)?$/.exec(rest);
    const want = (method: string) => {
      if (req.method !== method) throw new ApiError(405, `Use ${method} for ${path}`);
    };
    if (rest === "") {
      want("POST");
      return await enroll(req);
    }
    if (rest === "/challenge") {
      want("POST");
      return await challenge(req);
    }
    if (m) {
      want("GET");
      if (m[2]) return await creds(req, m[1]!);
      const r = await find(m[1]!);
      return Response.json({ id: r.id, status: r.status });
    }
    throw new ApiError(404, `No such endpoint "${path}"`);
  }

  return async (req) => {
    try {
      return await route(req);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 401) opts.log.warn("enrollment refused", { error: e.message });
      return errorResponse(e.status, e.message);
    }
  };
}
