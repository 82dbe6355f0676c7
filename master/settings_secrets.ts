/**
 * The master's half of sealed secrets: each settings file goes to `settings-files` with its
 * `!encrypted` values replaced by placeholders; the master opens those values with its box key
 * and seals, for each peel, the values of the files its top file assigns it (see
 * {@linkcode SettingsTop}) to the box public key of its enrollment record, into `secrets` under
 * the peel's id. It seals again when the tree changes, when a peel's facts or settings change
 * what its top file assigns it, and when a peel enrolls; a revoked or rejected peel's record is
 * removed. A peel without an enrollment record (no known box key) gets nothing, logged once.
 * @module
 */
import type { KV, KvEntry, QueuedIterator } from "nats";
import nacl from "tweetnacl";
import { decode } from "../lib/bus/mod.ts";
import { EnrollmentRecord, MAY_HOLD_CREDS } from "../lib/enroll/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import {
  type BoxKey,
  decodeBoxPublicKey,
  type OpenedSecrets,
  openMasterSealed,
  publishPeelSecrets,
  removePeelSecrets,
  sanitizeSettingsFile,
} from "../lib/secrets/mod.ts";
import { SettingsTop } from "../lib/settings/mod.ts";
import type { FactIndex } from "./fact_index.ts";

/** A settings file the master will not publish. */
export class SettingsPublishError extends TypeError {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SettingsPublishError";
  }
}

/** How long changes are gathered before sealing. */
const DEBOUNCE_MS = 200;
/** Peels sealed at once: their records are read and written in parallel. */
const CONCURRENCY = 32;

const UTF8_IN = new TextDecoder("utf-8", { fatal: true });
const UTF8_OUT = new TextEncoder();

/** What a {@linkcode SecretSealer} needs. */
export interface SecretSealerOptions {
  secretsKv: KV;
  enrollmentsKv: KV;
  index: FactIndex;
  /** The master's box key; without it a file holding `!encrypted` values is not published. */
  boxKey?: BoxKey;
  log: Logger;
}

/** Sanitizes settings files and keeps every peel's `secrets` record current. */
export class SecretSealer {
  readonly #opts: SecretSealerOptions;
  /** The published (sanitized) tree, by path. */
  readonly #files = new Map<string, string>();
  /** Opened secrets by file path, with a hash of them, for files that hold any. */
  readonly #secrets = new Map<string, { opened: OpenedSecrets; hash: string }>();
  /** Box public keys of peels that may get secrets. */
  readonly #keys = new Map<string, Uint8Array>();
  /**
   * What each peel's record holds as far as this master knows: a hash of what it was made from,
   * at a revision. A peel whose hash is unchanged is skipped; one whose hash changed is written
   * without a read while its record is still at that revision (no other master wrote since).
   */
  readonly #sealed = new Map<string, { made: string; revision: number }>();
  /** Peels logged as needing secrets without a known box key. */
  readonly #unkeyed = new Set<string>();
  #top?: SettingsTop;
  #pending = new Set<string>();
  #all = false;
  #timer?: ReturnType<typeof setTimeout>;
  #waiting?: PromiseWithResolvers<void>;
  #running = Promise.resolve();
  #watch?: QueuedIterator<KvEntry>;
  #detach?: () => void;
  #started = false;

  /** A sealer as `opts` says; {@linkcode SecretSealer.start} starts following peels. */
  constructor(opts: SecretSealerOptions) {
    this.#opts = opts;
  }

  /**
   * The bytes peels may read of settings file `path`: placeholders for its sealed values, which
   * are opened and kept here. Throws for a value that does not open, or when this master has no
   * box key to open it.
   */
  transform(path: string, data: Uint8Array): Uint8Array {
    const { text, secrets } = sanitizeSettingsFile(path, UTF8_IN.decode(data));
    const opened: OpenedSecrets = {};
    const key = this.#opts.boxKey;
    if (secrets.length && !key) {
      throw new SettingsPublishError(
        `Cannot publish settings file "${path}": it holds !encrypted values (line ${
          secrets.map((s) => s.line).join(", ")
        }) and this master has no box_key_file to open them`,
      );
    }
    for (const s of secrets) {
      try {
        opened[s.id] = openMasterSealed(s.literal, key!);
      } catch (e) {
        throw new SettingsPublishError(
          `Cannot publish settings file "${path}": line ${s.line}: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    this.#files.set(path, text);
    if (secrets.length) this.#secrets.set(path, { opened, hash: hashSecrets(opened) });
    else this.#secrets.delete(path);
    return UTF8_OUT.encode(text);
  }

  /** The tree was published with the files `paths`: forget the others and seal again. */
  published(paths: ReadonlySet<string>): Promise<void> {
    for (const p of [...this.#files.keys()]) {
      if (!paths.has(p)) {
        this.#files.delete(p);
        this.#secrets.delete(p);
      }
    }
    this.#top?.[Symbol.dispose]();
    this.#top = new SettingsTop(new Map(this.#files));
    this.#all = true;
    return this.#schedule(0);
  }

  /** Follow enrollment records and the fact index, and seal every peel's record now. */
  async start(): Promise<void> {
    if (!this.#opts.boxKey) return;
    let ready!: () => void;
    const initialized = new Promise<void>((r) => ready = r);
    this.#watch = await this.#opts.enrollmentsKv.watch({ key: ">", initializedFn: () => ready() });
    (async () => {
      for await (const e of this.#watch!) await this.#enrollment(e);
    })().catch((e) => this.#opts.log.error("enrollments watch ended", { error: e }));
    await initialized;
    this.#detach = this.#opts.index.onChange((id) => {
      this.#pending.add(id);
      void this.#schedule(DEBOUNCE_MS);
    });
    this.#started = true;
    this.#all = true;
    await this.#schedule(0);
  }

  /** Seal every known peel's record now (the benchmark's measure); resolves when done. */
  sealAll(): Promise<void> {
    this.#all = true;
    return this.#schedule(0);
  }

  /** Stop following; a round under way ends first. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#watch?.stop();
    this.#detach?.();
    await this.#running;
    this.#top?.[Symbol.dispose]();
  }

  async #enrollment(e: KvEntry): Promise<void> {
    let record: EnrollmentRecord | undefined;
    if (e.operation === "PUT") {
      try {
        record = EnrollmentRecord.parse(decode(e.value), `enrollments.${e.key}`);
      } catch (err) {
        this.#opts.log.warn("unreadable enrollment record", { peel_id: e.key, error: err });
        return;
      }
    }
    if (record && MAY_HOLD_CREDS.includes(record.status)) {
      try {
        this.#keys.set(e.key, decodeBoxPublicKey(record.box_public_key));
      } catch (err) {
        this.#opts.log.warn("enrollment record with an unusable box key", {
          peel_id: e.key,
          error: err,
        });
        return;
      }
      this.#unkeyed.delete(e.key);
      this.#pending.add(e.key);
      void this.#schedule(DEBOUNCE_MS);
    } else if (!record || record.status !== "pending") {
      this.#keys.delete(e.key);
      this.#sealed.delete(e.key);
      await removePeelSecrets(this.#opts.secretsKv, e.key).catch((err) =>
        this.#opts.log.error("cannot remove a peel's secrets", { peel_id: e.key, error: err })
      );
    }
  }

  /**
   * Run a round after `ms` (a round already waiting keeps its time unless `ms` is 0), after the
   * one under way; resolves when it is done.
   */
  #schedule(ms: number): Promise<void> {
    const waiting = this.#waiting ??= Promise.withResolvers<void>();
    if (this.#timer !== undefined && ms > 0) return waiting.promise;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#waiting = undefined;
      this.#running = this.#running.then(() => this.#round())
        .catch((e) => this.#opts.log.error("cannot seal secrets", { error: e }))
        .then(waiting.resolve);
    }, ms);
    return waiting.promise;
  }

  async #round(): Promise<void> {
    if (!this.#started || !this.#top) return;
    const ids = this.#all ? [...this.#opts.index.peels()].map((p) => p.id) : [...this.#pending];
    this.#all = false;
    this.#pending = new Set();
    let sealed = 0;
    const queue = ids.values();
    const worker = async () => {
      for (const id of queue) {
        try {
          if (await this.#seal(id)) sealed++;
        } catch (e) {
          this.#opts.log.error("cannot seal a peel's secrets", { peel_id: id, error: e });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
    if (sealed) this.#opts.log.info("secrets sealed", { peels: sealed });
  }

  /** Bring peel `id`'s record up to date; resolves true when it wrote. */
  async #seal(id: string): Promise<boolean> {
    const peel = this.#opts.index.get(id);
    if (!peel) return false;
    let files: string[];
    try {
      files = await this.#top!.filesFor(peel);
    } catch (e) {
      this.#opts.log.warn(
        "cannot tell which settings a peel gets; its secrets are left as they are",
        {
          peel_id: id,
          error: e,
        },
      );
      return false;
    }
    const secrets: OpenedSecrets = {};
    // What the record is made from: the peel's key and the hashes of its files' secrets.
    const from = [];
    for (const f of files) {
      const held = this.#secrets.get(f);
      if (!held) continue;
      Object.assign(secrets, held.opened);
      from.push(held.hash);
    }
    const key = this.#keys.get(id);
    if (!key) {
      if (Object.keys(secrets).length && !this.#unkeyed.has(id)) {
        this.#unkeyed.add(id);
        this.#opts.log.warn("no box key known for a peel: its secrets are not sealed", {
          peel_id: id,
          secrets: Object.keys(secrets).length,
        });
      }
      return false;
    }
    const made = `${key.toBase64()} ${from.join(" ")}`;
    const known = this.#sealed.get(id);
    if (known?.made === made) return false;
    const { revision, wrote } = await publishPeelSecrets(
      this.#opts.secretsKv,
      id,
      key,
      secrets,
      this.#opts.boxKey!,
      known?.revision,
    );
    if (this.#keys.get(id) !== key) {
      // Revoked or given another key while sealing: its enrollment handler ran meanwhile.
      this.#sealed.delete(id);
      if (!this.#keys.has(id)) await removePeelSecrets(this.#opts.secretsKv, id);
      return false;
    }
    this.#sealed.set(id, { made, revision });
    return wrote;
  }
}

/** A hash of one file's opened secrets, kept in memory only. */
function hashSecrets(secrets: OpenedSecrets): string {
  const ids = Object.keys(secrets).sort();
  return nacl.hash(UTF8_OUT.encode(JSON.stringify(ids.map((i) => [i, secrets[i]])))).toBase64();
}
