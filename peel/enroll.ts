/**
 * A fresh peel enrolls itself: it makes its nkey (`peel.nk`) and box key (`box.key`) in its data
 * dir, proves to the master's enrollment API that it holds the nkey by signing a nonce, waits
 * for an operator (or the master's policy) to approve it, downloads its user JWT with a signed
 * request, and writes its creds (`peel.creds`, 0600). A peel that has its creds already uses
 * them. While the master is unreachable it retries with growing gaps; a rejected or revoked
 * enrollment ends the attempt with {@linkcode EnrollmentRefusedError}.
 * @module
 */
import type { KeyPair } from "nkeys.js";
import { decodeJwt, loadOrCreateUserKey, seedText, writeCredsFile } from "../lib/auth/mod.ts";
import { CONNECT_RETRY, waitOrAbort } from "../lib/bus/mod.ts";
import { type PeelConfig, peelCredsPath } from "../lib/config/mod.ts";
import {
  credsAuthorization,
  ENROLL_PATH,
  type EnrollmentStatus,
  fingerprint,
  signText,
} from "../lib/enroll/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { type BoxKey, encodeBoxPublicKey, loadOrCreateBoxKey } from "../lib/secrets/mod.ts";

/** The master refused this peel for good: rejected, revoked, or its id is taken by another key. */
export class EnrollmentRefusedError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EnrollmentRefusedError";
  }
}

/** An error answer of the enrollment API. */
class ApiAnswerError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiAnswerError";
    this.status = status;
  }
}

/** Answers that trying again cannot change. */
const FINAL = new Set([400, 403, 409]);

/** Talks to the master's enrollment API for one peel. */
class EnrollClient {
  readonly #base: string;
  readonly #client: Deno.HttpClient;

  constructor(masterUrl: string, ca: string) {
    this.#base = masterUrl.replace(/\/$/, "") + ENROLL_PATH;
    this.#client = Deno.createHttpClient({ caCerts: [ca] });
  }

  async call<T>(path: string, init: { body?: unknown; auth?: string } = {}): Promise<T> {
    const r = await fetch(this.#base + path, {
      client: this.#client,
      method: init.body === undefined ? "GET" : "POST",
      headers: {
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...(init.auth ? { authorization: init.auth } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const answer = await r.json().catch(() => ({})) as T & { error?: string };
    if (!r.ok) throw new ApiAnswerError(r.status, answer.error ?? `HTTP ${r.status}`);
    return answer;
  }

  close(): void {
    this.#client.close();
  }
}

/** This peel's box key, `box.key` in its data dir, made (0600) when it has none yet. */
export function peelBoxKey(cfg: PeelConfig): Promise<BoxKey> {
  return loadOrCreateBoxKey(`${cfg.data_dir}/box.key`);
}

/**
 * The path of this peel's creds: `nats_creds`, or, for a peel with `master_url`, the creds in
 * its data dir, enrolling first when there are none yet. Resolves once they are written;
 * rejects with {@linkcode EnrollmentRefusedError}, or when `signal` aborts.
 */
export async function peelCreds(
  cfg: PeelConfig,
  log: Logger,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const path = peelCredsPath(cfg);
  if (!path || cfg.nats_creds || await exists(path)) return path;
  const key = await loadOrCreateUserKey(`${cfg.data_dir}/peel.nk`);
  const box = encodeBoxPublicKey((await peelBoxKey(cfg)).publicKey);
  const token = cfg.enroll_token_file
    ? (await Deno.readTextFile(cfg.enroll_token_file)).trim()
    : undefined;
  const client = new EnrollClient(cfg.master_url!, await Deno.readTextFile(cfg.nats_ca!));
  log.info("enrolling", {
    master_url: cfg.master_url,
    nkey: key.getPublicKey(),
    nkey_fingerprint: fingerprint(key.getPublicKey()),
  });
  try {
    for (let gap: number = CONNECT_RETRY.firstMs;; gap = Math.min(gap * 2, CONNECT_RETRY.maxMs)) {
      try {
        const jwt = await enrollOnce(cfg, client, key, box, token, log, signal);
        await writeCredsFile(path, { jwt, seed: seedText(key) });
        log.info("enrolled: creds written", { creds: path });
        return path;
      } catch (e) {
        if (e instanceof EnrollmentRefusedError || signal?.aborted) throw e;
        if (e instanceof ApiAnswerError && FINAL.has(e.status)) {
          throw new EnrollmentRefusedError(`Enrollment refused by ${cfg.master_url}: ${e.message}`);
        }
        log.warn("cannot enroll yet, will retry", { error: (e as Error).message, retry_ms: gap });
      }
      await waitOrAbort(gap, signal);
    }
  } finally {
    client.close();
  }
}

/** One round: challenge, enroll, wait while pending, download; resolves with the user JWT. */
async function enrollOnce(
  cfg: PeelConfig,
  client: EnrollClient,
  key: KeyPair,
  box: string,
  token: string | undefined,
  log: Logger,
  signal?: AbortSignal,
): Promise<string> {
  const nkey = key.getPublicKey();
  const { nonce } = await client.call<{ nonce: string }>("/challenge", {
    body: { peel_id: cfg.id, nkey },
  });
  let { status } = await client.call<{ status: EnrollmentStatus }>("", {
    body: {
      peel_id: cfg.id,
      nkey,
      box_public_key: box,
      nonce,
      signature: signText(key, nonce),
      ...(token ? { token } : {}),
    },
  });
  if (status === "pending") log.info("waiting for an operator to accept this peel");
  while (status === "pending") {
    await waitOrAbort(cfg.enroll_interval, signal);
    ({ status } = await client.call<{ status: EnrollmentStatus }>(`/${cfg.id}`));
  }
  if (status === "rejected" || status === "revoked" || status === "deleted") {
    throw new EnrollmentRefusedError(`Enrollment of "${cfg.id}" is ${status}`);
  }
  const { jwt } = await client.call<{ jwt: string }>(`/${cfg.id}/creds`, {
    auth: credsAuthorization(key, cfg.id),
  });
  if (typeof jwt !== "string" || decodeJwt(jwt).sub !== nkey) {
    throw new EnrollmentRefusedError(`The creds from ${cfg.master_url} are not for this key`);
  }
  return jwt;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
