/**
 * The peel's settings: follows the `settings-files` bucket (the master's sanitized settings
 * tree) in memory, compiles this peel's settings from it with its own facts, and keeps the result
 * until the tree or the facts change or a refresh asks for it again. Each compiled result is kept
 * as the last-known-good copy in the data dir; when the bucket cannot be read (NATS or its
 * stream away, no master has provisioned it), the peel uses that copy and says so. Settings are
 * compiled before their secrets are resolved, so what is kept and what is shown to the masters
 * for targeting holds no secret.
 * @module
 */
import { type KV, type KvEntry, KvWatchInclude, type QueuedIterator } from "nats";
import type { Logger } from "../lib/log/mod.ts";
import { isPlainObject } from "../lib/schema/mod.ts";
import { compileSettings, resolveSecrets } from "../lib/settings/mod.ts";
import { saltMerge, type TemplateHost } from "../lib/template/mod.ts";
import type { SettingsAccess } from "./functions/mod.ts";

type Dict = Record<string, unknown>;

/** Compiled settings and when they were compiled. */
interface Compiled {
  settings: Dict;
  compiled: string;
}

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
  log: Logger;
  /** Called with newly compiled settings that differ from the last ones. */
  onChange?: (settings: Dict) => void;
}

/** A peel's settings, compiled on the peel. */
export class PeelSettings implements SettingsAccess {
  readonly #opts: PeelSettingsOptions;
  readonly #files = new Map<string, string>();
  /** Why `settings-files` cannot be read; undefined while it is followed. */
  #unavailable?: string = "settings-files has not been read yet";
  #watch?: QueuedIterator<KvEntry>;
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
   * Read the whole tree from `kv`, then follow its changes and compile in the background. Rejects
   * when the bucket cannot be read (see {@linkcode PeelSettings.unavailable}).
   */
  async follow(kv: KV): Promise<void> {
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    this.#files.clear();
    for (const key of keys) {
      const e = await kv.get(key);
      if (e) this.#apply(e);
    }
    this.#watch = await kv.watch({ key: ">", include: KvWatchInclude.UpdatesOnly });
    this.#unavailable = undefined;
    this.#version++;
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
  }

  async get(inline?: Dict): Promise<{ settings: Dict; warning?: string }> {
    if (this.#unavailable !== undefined) return await this.#kept(inline);
    if (inline) {
      const settings = await this.#compileNow(inline);
      return { settings: resolveSecrets(settings) };
    }
    return { settings: resolveSecrets((await this.#fresh(false)).settings) };
  }

  async refresh(): Promise<{ settings: Dict; warning?: string }> {
    if (this.#unavailable !== undefined) return await this.#kept();
    return { settings: resolveSecrets((await this.#fresh(true)).settings) };
  }

  #apply(e: KvEntry): void {
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
    const kept = this.#current ?? await this.#readKept();
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
    return { settings: resolveSecrets(settings), warning };
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
    await this.#writeKept({ settings, compiled });
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
      host: this.#opts.host,
    });
  }

  /** Compile in the background (after a change), logging a failure: jobs report it too. */
  #background(): void {
    this.#fresh(false).catch((e) =>
      this.#opts.log.warn("cannot compile settings", { error: (e as Error).message })
    );
  }

  async #writeKept(kept: Compiled): Promise<void> {
    const tmp = `${this.#opts.keptPath}.tmp`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(kept), { mode: 0o600 });
      await Deno.rename(tmp, this.#opts.keptPath);
    } catch (e) {
      this.#opts.log.warn("cannot keep the settings in the data dir", { error: e });
    }
  }

  async #readKept(): Promise<Compiled | undefined> {
    let raw: unknown;
    try {
      raw = JSON.parse(await Deno.readTextFile(this.#opts.keptPath));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        this.#opts.log.warn("ignoring unreadable last-known-good settings", { error: e });
      }
      return undefined;
    }
    if (!isPlainObject(raw) || !isPlainObject(raw.settings) || typeof raw.compiled !== "string") {
      this.#opts.log.warn("ignoring malformed last-known-good settings", {
        path: this.#opts.keptPath,
      });
      return undefined;
    }
    return { settings: raw.settings, compiled: raw.compiled };
  }
}
