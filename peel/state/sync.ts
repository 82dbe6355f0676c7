/**
 * The peel's copy of the state tree: follows the `state-files` bucket into `states-cache` in its
 * data dir (the only place it may write), file by file, deleting what the master deleted.
 * @module
 */
import { type KV, type KvEntry, KvWatchInclude, type QueuedIterator } from "nats";
import type { Logger } from "../../lib/log/mod.ts";
import { dirTree, type StateTree } from "./tree.ts";

/** Mirrors `state-files` into a directory. */
export class StateSync {
  #watch?: QueuedIterator<KvEntry>;
  /** The mirrored tree, for the state pipeline. */
  readonly tree: StateTree;

  /** Mirror into `dir`. */
  constructor(readonly kv: KV, readonly dir: string, readonly log: Logger) {
    this.tree = dirTree(dir);
  }

  /** Write every file now (removing ones the bucket no longer has), then follow changes. */
  async start(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const keys = new Set<string>();
    for await (const k of await this.kv.keys()) keys.add(k);
    for (const key of keys) {
      const e = await this.kv.get(key);
      if (e) await this.#apply(e);
    }
    await this.#prune(this.dir, "", keys);
    this.#watch = await this.kv.watch({ key: ">", include: KvWatchInclude.UpdatesOnly });
    (async () => {
      for await (const e of this.#watch!) await this.#apply(e);
    })().catch((e) => this.log.error("state-files watch ended", { error: e }));
  }

  async #prune(root: string, rel: string, keep: Set<string>): Promise<void> {
    for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await this.#prune(root, p, keep);
      else if (!keep.has(p)) await Deno.remove(`${root}/${p}`).catch(() => {});
    }
  }

  /** Stop following. */
  stop(): void {
    this.#watch?.stop();
  }

  async #apply(e: KvEntry): Promise<void> {
    if (e.key.split("/").some((p) => p === ".." || p === "") || e.key.startsWith("/")) {
      this.log.warn("ignoring state file with an unsafe path", { key: e.key });
      return;
    }
    const path = `${this.dir}/${e.key}`;
    try {
      if (e.operation === "PUT") {
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        await Deno.writeFile(path, e.value);
      } else {
        await Deno.remove(path).catch(() => {});
      }
    } catch (err) {
      this.log.error("cannot mirror state file", { key: e.key, error: err });
    }
  }
}
