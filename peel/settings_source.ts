/**
 * The peel's settings: follows the `settings-files` bucket (the master's sanitized settings
 * tree and its merge options) and its own record in `secrets` in memory, compiles this peel's
 * settings from the tree with its own facts, and keeps the result until the tree or the facts
 * change or a refresh asks for it again. Secrets are resolved last: the record is opened with
 * the peel's box key and each placeholder replaced by its value; a placeholder left over is an
 * error naming it. Each compiled result is kept as the last-known-good copy in the data dir,
 * sealed with a key derived from the peel's box key, with the record as the master sealed it:
 * never in plaintext. When the buckets cannot be read (NATS or its stream away, no master has
 * provisioned them), the peel uses that copy and says so. What is shown to the masters for
 * targeting is compiled before secrets are resolved, and holds none.
 * @module
 */
import { type KV, type KvEntry, KvWatchInclude, type QueuedIterator } from "nats";
import { decode, encode } from "../lib/bus/mod.ts";
import type { Logger } from "../lib/log/mod.ts";
import * as s from "../lib/schema/mod.ts";
import {
  type BoxKey,
  openAtRest,
  type OpenedSecrets,
  openPeelSecrets,
  redactSecrets,
  sealAtRest,
  substituteSecrets,
} from "../lib/secrets/mod.ts";
import { compileSettings, SETTINGS_CONFIG_KEY, SettingsConfig } from "../lib/settings/mod.ts";
import { saltMerge, type TemplateHost } from "../lib/template/mod.ts";
import type { SettingsAccess } from "./functions/mod.ts";

type Dict = Record<string, unknown>;

/** Compiled settings (placeholders in place of secrets) and when they were compiled. */
interface Compiled {
  settings: Dict;
  compiled: string;
}

/** The last-known-good copy: compiled settings and the secrets record they were used with. */
const Kept = s.object({
  settings: s.record(s.unknown()),
  compiled: s.string(),
  record: s.optional(s.bytes()),
});
type Kept = s.Infer<typeof Kept>;

/** How long after a change of the tree the settings are compiled again. */
const DEBOUNCE_MS = 300;

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** What {@linkcode PeelSettings} needs. */
export interface PeelSettingsOptions {
  peelId: string;
  facts: () => Dict;
  /** Runs templates' commands and host-file reads (the broker). */
  host: TemplateHost;
  /** The last-known-good copy, in the data dir. */
  keptPath: string;
  /** The peel's box key: opens its secrets record and seals the kept copy. */
  boxKey: BoxKey;
  log: Logger;
  /** Called with newly compiled settings that differ from the last ones. */
  onChange?: (settings: Dict) => void;
}

/** A peel's settings, compiled on the peel. */
export class PeelSettings implements SettingsAccess {
  readonly #opts: PeelSettingsOptions;
  readonly #files = new Map<string, string>();
  #merging: Partial<SettingsConfig> = {};
  /** Why `settings-files` cannot be read; undefined while it is followed. */
  #unavailable?: string = "settings-files has not been read yet";
  #watch?: QueuedIterator<KvEntry>;
  #secretsWatch?: QueuedIterator<KvEntry>;
  /** This peel's `secrets` record as the master sealed it; undefined when it has none. */
  #record?: Uint8Array;
  #opened?: { record?: Uint8Array; secrets: Promise<OpenedSecrets> };
  /** Every value opened so far (and its JSON-escaped form), each under itself, for redaction. */
  readonly #seen: OpenedSecrets = {};
  #timer?: ReturnType<typeof setTimeout>;
  /** Bumped on every change of the tree. */
  #version = 0;
  #facts?: Dict;
  #factsJson = "";
  #current?: Compiled & { key: string };
  #compiling?: Promise<Compiled>;

  /** Settings of peel `opts.peelId`; none until {@linkcode PeelSettings.follow} succeeds. */
  constructor(opts: PeelSettingsOptions) {
    this.#opts = opts;
  }

  /** The settings last compiled (before secrets are resolved), if any. */
  get compiled(): Dict | undefined {
    return this.#current?.settings;
  }

  /**
   * Read the whole tree from `settingsKv` and this peel's record from `secretsKv`, then follow
   * their changes and compile in the background. Rejects when a bucket cannot be read (see
   * {@linkcode PeelSettings.unavailable}).
   */
  async follow(settingsKv: KV, secretsKv: KV): Promise<void> {
    const keys: string[] = [];
    for await (const key of await settingsKv.keys()) keys.push(key);
    this.#files.clear();
    this.#merging = {};
    for (const key of keys) {
      const e = await settingsKv.get(key);
      if (e) this.#apply(e);
    }
    const record = await secretsKv.get(this.#opts.peelId);
    this.#record = record?.operation === "PUT" ? record.value : undefined;
    this.#secretsWatch = await secretsKv.watch({
      key: this.#opts.peelId,
      include: KvWatchInclude.UpdatesOnly,
    });
    this.#watch = await settingsKv.watch({ key: ">", include: KvWatchInclude.UpdatesOnly });
    this.#unavailable = undefined;
    this.#version++;
    (async () => {
      for await (const e of this.#secretsWatch!) {
        this.#record = e.operation === "PUT" ? e.value : undefined;
        if (this.#current) await this.#writeKept(this.#current);
      }
    })().catch((e) => {
      this.unavailable(`the secrets watch ended: ${(e as Error).message}`);
    });
    (async () => {
      for await (const e of this.#watch!) {
        this.#apply(e);
        this.#version++;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#background(), DEBOUNCE_MS);
      }
    })().catch((e) => {
      this.unavailable(`the settings-files watch ended: ${(e as Error).message}`);
    });
    this.#background();
  }

  /**
   * The last-known-good settings kept in the data dir (compiled, secrets not resolved), if any:
   * what a peel that starts without NATS goes by.
   */
  async keptCompiled(): Promise<Dict | undefined> {
    return (await this.#readKept())?.settings;
  }

  /** Mark the settings source as unavailable for `reason`: the kept settings are used. */
  unavailable(reason: string): void {
    this.#unavailable = reason;
    this.#opts.log.warn("settings source unavailable", { reason });
  }

  /** Compile again if the facts changed (called after they are collected). */
  factsChanged(): void {
    if (this.#unavailable === undefined) this.#background();
  }

  /** Stop following the bucket. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#watch?.stop();
    this.#secretsWatch?.stop();
  }

  async get(inline?: Dict): Promise<{ settings: Dict; warning?: string }> {
    if (this.#unavailable !== undefined) return await this.#kept(inline);
    const settings = inline ? await this.#compileNow(inline) : (await this.#fresh(false)).settings;
    return { settings: await this.#resolve(settings, this.#record) };
  }

  async refresh(): Promise<{ settings: Dict; warning?: string }> {
    if (this.#unavailable !== undefined) return await this.#kept();
    return { settings: await this.#resolve((await this.#fresh(true)).settings, this.#record) };
  }

  redact<T>(value: T): T {
    return redactSecrets(value, this.#seen);
  }

  /** `line` with every secret opened so far shown as `<sealed>` (for the peel's log). */
  redactLine(line: string): string {
    return redactSecrets(line, this.#seen);
  }

  /** `settings` with each placeholder replaced by its value opened from `record`. */
  async #resolve(settings: Dict, record: Uint8Array | undefined): Promise<Dict> {
    let opened = this.#opened;
    if (!opened || opened.record !== record) {
      const secrets: Promise<OpenedSecrets> = record
        ? openPeelSecrets(record, this.#opts.boxKey)
        : Promise.resolve({});
      opened = this.#opened = { record, secrets };
      for (const v of Object.values(await secrets)) {
        this.#seen[v] = v;
        const escaped = JSON.stringify(v).slice(1, -1);
        this.#seen[escaped] = escaped;
      }
    }
    return substituteSecrets(settings, await opened.secrets);
  }

  #apply(e: KvEntry): void {
    if (e.key === SETTINGS_CONFIG_KEY) {
      try {
        this.#merging = e.operation === "PUT"
          ? SettingsConfig.parse(JSON.parse(UTF8.decode(e.value)), SETTINGS_CONFIG_KEY)
          : {};
      } catch (err) {
        this.#opts.log.warn("ignoring malformed settings merge options", { error: err });
      }
      return;
    }
    if (e.operation !== "PUT") {
      this.#files.delete(e.key);
      return;
    }
    try {
      this.#files.set(e.key, UTF8.decode(e.value));
    } catch {
      this.#opts.log.warn("ignoring settings file that is not UTF-8 text", { key: e.key });
    }
  }

  /** The kept settings (in memory, else in the data dir), with a warning saying so. */
  async #kept(inline?: Dict): Promise<{ settings: Dict; warning: string }> {
    const kept: Kept | undefined = this.#current
      ? { ...this.#current, record: this.#record }
      : await this.#readKept();
    if (!kept) {
      throw new Error(
        `No settings: ${this.#unavailable}, and there is no last-known-good copy in "${this.#opts.keptPath}"`,
      );
    }
    const warning =
      `Settings source unavailable (${this.#unavailable}): using the last-known-good settings compiled at ${kept.compiled}`;
    this.#opts.log.warn("using last-known-good settings", {
      reason: this.#unavailable,
      compiled: kept.compiled,
    });
    const settings = inline ? saltMerge(kept.settings, inline) as Dict : kept.settings;
    return { settings: await this.#resolve(settings, kept.record), warning };
  }

  /** A key that changes when the tree or the facts do. */
  #key(): string {
    const facts = this.#opts.facts();
    if (facts !== this.#facts) {
      this.#facts = facts;
      this.#factsJson = JSON.stringify(facts);
    }
    return `${this.#version}\u0000${this.#factsJson}`;
  }

  /** The current settings, compiled again when stale (or when `force`); one compile at a time. */
  async #fresh(force: boolean): Promise<Compiled> {
    while (this.#compiling) await this.#compiling.catch(() => {});
    const key = this.#key();
    if (!force && this.#current?.key === key) return this.#current;
    this.#compiling = this.#compile(key);
    try {
      return await this.#compiling;
    } finally {
      this.#compiling = undefined;
    }
  }

  async #compile(key: string): Promise<Compiled> {
    const previous = this.#current;
    const settings = await this.#compileNow();
    const compiled = new Date().toISOString();
    this.#current = { key, settings, compiled };
    await this.#writeKept(this.#current);
    if (JSON.stringify(previous?.settings) !== JSON.stringify(settings)) {
      this.#opts.log.info("settings compiled", { keys: Object.keys(settings).length });
      this.#opts.onChange?.(settings);
    }
    return this.#current;
  }

  #compileNow(inline?: Dict): Promise<Dict> {
    return compileSettings({
      files: new Map(this.#files),
      peelId: this.#opts.peelId,
      facts: this.#opts.facts(),
      inline,
      merging: this.#merging,
      host: this.#opts.host,
    });
  }

  /** Compile in the background (after a change), logging a failure: jobs report it too. */
  #background(): void {
    this.#fresh(false).catch((e) =>
      this.#opts.log.warn("cannot compile settings", { error: (e as Error).message })
    );
  }

  /** Keep `compiled` and the current record, sealed, as the last-known-good copy. */
  async #writeKept(compiled: Compiled): Promise<void> {
    const tmp = `${this.#opts.keptPath}.tmp`;
    const kept: Kept = { settings: compiled.settings, compiled: compiled.compiled };
    if (this.#record) kept.record = this.#record;
    try {
      await Deno.writeFile(tmp, sealAtRest(encode(kept), this.#opts.boxKey), { mode: 0o600 });
      await Deno.rename(tmp, this.#opts.keptPath);
    } catch (e) {
      this.#opts.log.warn("cannot keep the settings in the data dir", { error: e });
    }
  }

  async #readKept(): Promise<Kept | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#opts.keptPath);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        this.#opts.log.warn("ignoring unreadable last-known-good settings", { error: e });
      }
      return undefined;
    }
    try {
      return Kept.parse(decode(openAtRest(bytes, this.#opts.boxKey)), this.#opts.keptPath);
    } catch (e) {
      this.#opts.log.warn("ignoring malformed last-known-good settings", {
        path: this.#opts.keptPath,
        error: e,
      });
      return undefined;
    }
  }
}
