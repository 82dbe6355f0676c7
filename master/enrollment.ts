/**
 * A master's part in enrollment: the HTTPS API for peels, the admin requests of
 * `zester key` on `zester.admin.enroll.<op>`, marking an enrolled peel `active` when its
 * first facts arrive, and revocation: the revoked peels' user keys go into the account JWT the
 * master signs and pushes, and the servers drop those peels at once.
 * @module
 */
import type { KV, NatsConnection, Subscription } from "nats";
import { nowSeconds, warnIfCertExpiring } from "../lib/auth/mod.ts";
import { BUCKETS, MASTER_QUEUE, openBucket, serve, subjects } from "../lib/bus/mod.ts";
import { busOptions, listenAddr, type MasterConfig } from "../lib/config/mod.ts";
import {
  ADMIN_OPS,
  type AdminOp,
  AdminRequest,
  type EnrollmentRecord,
  type EnrollmentSummary,
  listEnrollments,
  MAY_HOLD_CREDS,
  readEnrollment,
  revokedKeys,
  summarize,
  transitionEnrollment,
} from "../lib/enroll/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import { compileGlob, isLiteralGlob } from "../lib/target/mod.ts";
import { enrollApi } from "./enroll_api.ts";
import { EnrollSigner } from "./enroll_signer.ts";
import { type HttpsServer, serveHttps } from "./https_server.ts";

/** How long a peel found settled is not looked up again when its facts arrive. */
const SETTLED_MS = 5 * 60_000;

/** The reply to an admin request. */
export type AdminReply =
  | { ok: true; records: EnrollmentSummary[] }
  | { ok: false; error: string };

/** A master's enrollment service. */
export class Enrollment {
  readonly #kv: KV;
  readonly #signer: EnrollSigner;
  readonly #masterId: string;
  readonly #log: Logger;
  /** Peels known `issued`, `active` or without a record, until when (ms) not to look again. */
  readonly #settled = new Map<string, number>();
  #server?: HttpsServer;
  #admin?: Subscription;

  private constructor(kv: KV, signer: EnrollSigner, masterId: string, log: Logger) {
    this.#kv = kv;
    this.#signer = signer;
    this.#masterId = masterId;
    this.#log = log;
  }

  /**
   * Start serving `cfg.enroll` (which must be set) over `nc`: push the revocations on
   * record (a server started again from its preloaded account forgets none), then listen.
   */
  static async start(
    nc: NatsConnection,
    cfg: MasterConfig,
    masterId: string,
    log: Logger,
  ): Promise<Enrollment> {
    const e = cfg.enroll!;
    await warnIfCertExpiring(e.tls_cert, "enrollment server", log);
    const signer = await EnrollSigner.load(
      e,
      cfg.nats_creds,
      busOptions(cfg, `zester-master-${masterId}`),
    );
    const [kv, challenges] = await Promise.all([
      openBucket(nc, BUCKETS.enrollments),
      openBucket(nc, BUCKETS.enrollChallenges),
    ]);
    const self = new Enrollment(kv, signer, masterId, log);
    const revoked = await self.#revocations();
    if (Object.keys(revoked).length) await self.#pushRevocations(revoked);
    self.#admin = serve(nc, {
      subject: subjects.adminEnrollAll,
      queue: MASTER_QUEUE,
      schema: AdminRequest,
      log,
      handle: (req, msg) => self.#handleAdmin(msg.subject.split(".").at(-1)!, req),
    });
    const { hostname: host, port } = listenAddr(e.addr)!;
    self.#server = await serveHttps({
      host,
      port,
      cert: await Deno.readTextFile(e.tls_cert),
      key: await Deno.readTextFile(e.tls_key),
      handler: enrollApi({ enrollments: kv, challenges, signer, cfg: e, log }),
      log,
    });
    log.info("enrollment API listening", {
      host,
      port: self.#server.port,
      policy: e.policy,
    });
    return self;
  }

  /** The port the API listens on. */
  get port(): number {
    return this.#server!.port;
  }

  /** Peel `id` sent facts: an enrolled peel whose creds were issued is now `active`. */
  async connected(id: string): Promise<void> {
    if ((this.#settled.get(id) ?? 0) > Date.now()) return;
    const found = await readEnrollment(this.#kv, id);
    if (found?.record.status === "issued") {
      await transitionEnrollment(this.#kv, id, "active", `master:${this.#masterId}`);
      this.#log.info("enrolled peel connected", { peel_id: id });
    }
    // Looked at again later: another master may delete the record and the peel enroll anew.
    if (!found || ["issued", "active"].includes(found.record.status)) {
      this.#settled.set(id, Date.now() + SETTLED_MS);
    }
  }

  /** Stop the API and the admin service. */
  async stop(): Promise<void> {
    this.#admin?.unsubscribe();
    await this.#server?.close();
  }

  async #handleAdmin(op: string, req: AdminRequest): Promise<AdminReply> {
    if (!(ADMIN_OPS as readonly string[]).includes(op)) {
      return { ok: false, error: `Unknown enrollment operation "${op}"` };
    }
    const records = await this.#run(op as AdminOp, req);
    return { ok: true, records: records.map(summarize) };
  }

  async #run(op: AdminOp, req: AdminRequest): Promise<EnrollmentRecord[]> {
    const actor = `cli:${req.actor ?? "unknown"}`;
    if (op === "list") {
      const all = await listEnrollments(
        this.#kv,
        (id, e) => this.#log.warn("unreadable enrollment record", { peel_id: id, error: e }),
      );
      return all.filter((r) => !req.status || r.status === req.status);
    }
    const target = req.target;
    if (!target) throw new TypeError(`Enrollment ${op} needs a peel id`);
    if (op === "accept" && !isLiteralGlob(target)) {
      const match = compileGlob(target);
      const pending = (await listEnrollments(this.#kv)).filter((r) =>
        r.status === "pending" && match(r.id)
      );
      const done = await Promise.all(
        pending.map((r) => transitionEnrollment(this.#kv, r.id, "approved", actor)),
      );
      return done.filter((d) => d.changed).map((d) => d.record);
    }
    if (op === "show") {
      const found = await readEnrollment(this.#kv, target);
      if (!found) throw new Error(`No enrollment record found for "${target}"`);
      return [found.record];
    }
    if (op === "delete") return [await this.#delete(target, actor)];
    const to = op === "accept" ? "approved" : op === "reject" ? "rejected" : "revoked";
    const { record, changed } = await transitionEnrollment(
      this.#kv,
      target,
      to,
      actor,
      to === "revoked" ? { revoked_at: nowSeconds() } : {},
    );
    if (changed) this.#log.info(`enrollment ${to}`, { peel_id: target, actor });
    // Pushed again on a repeated revoke, so that a push that failed before is made good.
    if (to === "revoked") await this.#pushRevocations();
    return [record];
  }

  /**
   * Delete peel `id`'s enrollment so that it may enroll again: a key that may hold creds is
   * revoked first (and the revocation pushed), as Salt's `salt-key -d` also drops the minion.
   */
  async #delete(id: string, actor: string): Promise<EnrollmentRecord> {
    const found = await readEnrollment(this.#kv, id);
    if (found && MAY_HOLD_CREDS.includes(found.record.status)) {
      await transitionEnrollment(this.#kv, id, "revoked", actor, { revoked_at: nowSeconds() });
      this.#log.info("enrollment revoked", { peel_id: id, actor });
      await this.#pushRevocations();
    }
    const { record, changed } = await transitionEnrollment(this.#kv, id, "deleted", actor);
    if (changed) this.#log.info("enrollment deleted", { peel_id: id, actor });
    this.#settled.delete(id);
    return record;
  }

  async #revocations(): Promise<Record<string, number>> {
    const records = await listEnrollments(this.#kv);
    return Object.assign({}, ...records.map(revokedKeys));
  }

  /**
   * Push the account JWT with every revocation on record; again if another master revoked a
   * peel meanwhile, so that the last push holds them all. `known`: the revocations just read.
   */
  async #pushRevocations(known?: Record<string, number>): Promise<void> {
    let revocations = known ?? await this.#revocations();
    for (;;) {
      await this.#signer.pushRevocations(revocations);
      const now = await this.#revocations();
      if (Object.keys(now).length === Object.keys(revocations).length) break;
      revocations = now;
    }
    this.#log.info("account revocations pushed", { revoked: Object.keys(revocations).length });
  }
}
