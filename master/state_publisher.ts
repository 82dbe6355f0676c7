/**
 * Publishes the state tree (`states_dir`) to the `state-files` bucket: raw bytes under
 * forward-slash relative paths, at start and whenever files change; keys of files that are gone
 * are deleted. Hidden files and names KV keys cannot hold are skipped with a warning.
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
 * Fail unless `dir` is a directory this process can list, with an error naming `states_dir`:
 * a master that cannot see its state tree must not start and serve an empty one.
 */
export async function checkStatesDir(dir: string): Promise<void> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new TypeError("not a directory");
    for await (const _ of Deno.readDir(dir)) break;
  } catch (e) {
    throw new ConfigError(
      `Invalid config: field "states_dir": cannot read directory "${dir}": ${(e as Error).message}`,
      "master.yaml",
      { field: "states_dir" },
      { cause: e },
    );
  }
}

/** Keeps `state-files` equal to a directory. */
export class StatePublisher {
  #watcher?: Deno.FsWatcher;
  #timer?: ReturnType<typeof setTimeout>;
  #running = Promise.resolve();

  /** Publish `dir` to `kv` now; then follow changes unless `watch` is false. */
  constructor(readonly kv: KV, readonly dir: string, readonly log: Logger) {}

  /** Publish once; resolves to the number of files published. */
  async publish(): Promise<number> {
    const files = await walk(this.dir);
    const keep = new Set<string>();
    for (const path of files) {
      if (!KEY.test(path) || path.split("/").includes("..")) {
        this.log.warn("skipping state file whose name cannot be a KV key", { path });
        continue;
      }
      keep.add(path);
      const data = await Deno.readFile(`${this.dir}/${path}`);
      const cur = await this.kv.get(path);
      if (!cur || cur.operation !== "PUT" || !equal(cur.value, data)) await this.kv.put(path, data);
    }
    for await (const key of await this.kv.keys()) {
      if (!keep.has(key)) await this.kv.delete(key);
    }
    return keep.size;
  }

  /** Republish when the directory changes (debounced). */
  watch(): void {
    try {
      this.#watcher = Deno.watchFs(this.dir, { recursive: true });
    } catch (e) {
      this.log.warn("cannot watch states_dir", { dir: this.dir, error: e });
      return;
    }
    (async () => {
      for await (const _ of this.#watcher!) {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#running = this.#running.then(() => this.publish()).then(
            (n) => this.log.info("state tree published", { files: n }),
            (e) => this.log.error("cannot publish the state tree", { error: e }),
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
