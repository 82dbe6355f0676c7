/**
 * A client of the master's enrollment API for tests: raw requests (to send what a peel never
 * would) and the whole enroll step of a peel with a key made here.
 * @module
 */
import { createUser, type KeyPair } from "nkeys.js";
import { ENROLL_PATH, signText } from "../../lib/enroll/mod.ts";
import { createBoxKey, encodeBoxPublicKey } from "../../lib/secrets/mod.ts";
import { devTrust } from "../../deploy/dev/trust.ts";

/** An answer: its status and JSON body. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Raw calls to the enrollment API on `127.0.0.1:<port>`, trusting the development CA. */
export class EnrollApi {
  readonly base: string;
  readonly #client: Deno.HttpClient;

  private constructor(port: number, client: Deno.HttpClient) {
    this.base = `https://127.0.0.1:${port}`;
    this.#client = client;
  }

  /** A client for the API on `port`. */
  static async at(port: number): Promise<EnrollApi> {
    const { deployment } = await devTrust();
    return new EnrollApi(port, Deno.createHttpClient({ caCerts: [deployment.ca.cert] }));
  }

  /** `method path` with `body` (a string is sent as is) and `headers`. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const r = await fetch(this.base + path, {
      client: this.#client,
      method,
      headers,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  }

  /** A nonce for `peelId` and `key`. */
  async nonce(peelId: string, key: KeyPair): Promise<string> {
    const a = await this.call("POST", `${ENROLL_PATH}/challenge`, {
      peel_id: peelId,
      nkey: key.getPublicKey(),
    });
    if (a.status !== 200) throw new Error(`challenge: ${a.status} ${JSON.stringify(a.body)}`);
    return a.body.nonce as string;
  }

  /** The enroll request of `peelId` with `key`, for `nonce` (signed by `signer`). */
  enrollBody(peelId: string, key: KeyPair, nonce: string, signer = key, token?: string) {
    return {
      peel_id: peelId,
      nkey: key.getPublicKey(),
      box_public_key: encodeBoxPublicKey(createBoxKey().publicKey),
      nonce,
      signature: signText(signer, nonce),
      ...(token ? { token } : {}),
    };
  }

  /** Ask to enroll `peelId` with a new key (or `key`); the answer and the key. */
  async enroll(
    peelId: string,
    opts: { key?: KeyPair; token?: string } = {},
  ): Promise<Answer & { key: KeyPair }> {
    const key = opts.key ?? createUser();
    const nonce = await this.nonce(peelId, key);
    const a = await this.call(
      "POST",
      ENROLL_PATH,
      this.enrollBody(peelId, key, nonce, key, opts.token),
    );
    return { ...a, key };
  }

  /** Close the client. */
  close(): void {
    this.#client.close();
  }
}
