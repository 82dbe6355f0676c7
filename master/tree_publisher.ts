/**
 * Publishes a directory to a bucket (the state tree to `state-files`, the settings tree to
 * `settings-files`): each file's bytes, as a transform lets them out, under its forward-slash
 * relative path, at start and whenever files change; keys of files that are gone are deleted.
 * Hidden files and names KV keys cannot hold are skipped with a warning; a file the transform
 * refuses is logged and keeps what the bucket had. Entries of the publisher's own (a settings
 * tree's merge options) go beside the files.
 * @module
 */
import type { KV } from "nats";
import { ConfigError } from "../lib/config/mod.ts";
import type { Logger } from "../lib/log/mod.ts";

/** Characters a KV key may hold. */
const KEY = /^[-/_=.a-zA-Z0-9]+$/;

async function walk(root: string, rel = "", out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
    if (e.name.startsWith(".")) continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) await walk(root, p, out);
    else if (e.isFile) out.push(p);
  }
  return out;
}

/**
 * Fail unless `dir` is a directory this process can list, with an error naming config field
 * `field`: a master that cannot see its tree must not start and serve an empty one.
 */
export async function checkTreeDir(dir: string, field: string): Promise<void> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new TypeError("not a directory");
    for await (const _ of Deno.readDir(dir)) break;
  } catch (e) {
    throw new ConfigError(
      `Invalid config: field "${field}": cannot read directory "${dir}": ${(e as Error).message}`,
      "master.yaml",
      { field },
      { cause: e },
    );
  }
}

/** What a {@linkcode TreePublisher} publishes. */
export interface TreeOptions {
  /** What the tree is, for log lines: `state tree`, `settings tree`. */
  what: string;
  /** The config field naming the directory, for log lines. */
  field: string;
  /** The bytes peels may read for file `path`; throws to keep the file out. */
  transform?: (path: string, data: Uint8Array) => Uint8Array;
  /** Keys published beside the files; a file of the same name is skipped with a warning. */
  entries?: ReadonlyMap<string, Uint8Array>;
  /** Called after each publish with the paths of the tree's files. */
  published?: (paths: ReadonlySet<string>) => Promise<void>;
}

/** Keeps a bucket equal to a directory. */
export class TreePublisher {
  #watcher?: Deno.FsWatcher;
  #timer?: ReturnType<typeof setTimeout>;
  #running = Promise.resolve();

  /** Publish `dir` to `kv` as `tree` says. */
  constructor(
    readonly kv: KV,
    readonly dir: string,
    readonly tree: TreeOptions,
    readonly log: Logger,
  ) {}

  /** Publish once; resolves to the number of files published. */
  async publish(): Promise<number> {
    const files = await walk(this.dir);
    const entries = this.tree.entries ?? new Map<string, Uint8Array>();
    const keep = new Set<string>();
    for (const path of files) {
      if (!KEY.test(path) || path.split("/").includes("..") || entries.has(path)) {
        this.log.warn(
          `skipping a file of the ${this.tree.what} whose name cannot be a KV key or is reserved`,
          {
            path,
          },
        );
        continue;
      }
      keep.add(path);
      let data: Uint8Array = await Deno.readFile(`${this.dir}/${path}`);
      try {
        data = this.tree.transform?.(path, data) ?? data;
      } catch (e) {
        this.log.error(`cannot publish a file of the ${this.tree.what}`, { path, error: e });
        continue;
      }
      await this.#put(path, data);
    }
    for (const [key, data] of entries) await this.#put(key, data);
    for await (const key of await this.kv.keys()) {
      if (!keep.has(key) && !entries.has(key)) await this.kv.delete(key);
    }
    await this.tree.published?.(keep);
    return keep.size;
  }

  async #put(key: string, data: Uint8Array): Promise<void> {
    const cur = await this.kv.get(key);
    if (!cur || cur.operation !== "PUT" || !equal(cur.value, data)) await this.kv.put(key, data);
  }

  /** Republish when the directory changes (debounced). */
  watch(): void {
    try {
      this.#watcher = Deno.watchFs(this.dir, { recursive: true });
    } catch (e) {
      this.log.warn(`cannot watch ${this.tree.field}`, { dir: this.dir, error: e });
      return;
    }
    (async () => {
      for await (const _ of this.#watcher!) {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#running = this.#running.then(() => this.publish()).then(
            (n) => this.log.info(`${this.tree.what} published`, { files: n }),
            (e) => this.log.error(`cannot publish the ${this.tree.what}`, { error: e }),
          );
        }, 300);
      }
    })().catch(() => {});
  }

  /** Stop watching. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#watcher?.close();
    await this.#running;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
