/**
 * `file.*` states. Each decides from what the broker reports (stat, read) and acts through the
 * broker (write, mkdir, chmod, remove), so the policy decides what may be touched.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { Broker } from "../functions/mod.ts";
import { unifiedDiff } from "./diff.ts";

/** What the file states need: the broker, and the state tree for `source:`. */
export interface FileDeps {
  broker: Broker;
  /** Read a file of the state tree (`salt://x`, `zester://x` or a relative path). */
  source(ref: string): Promise<string>;
  /** Render a template source with the run's context, the state's SLS and extra variables. */
  render(
    text: string,
    file: string,
    extra?: { sls?: string; vars?: Record<string, unknown> },
  ): Promise<string>;
  /** A settings value by `a:b` key, for `contents_pillar`. */
  setting?(key: string): unknown;
}

interface Stat {
  exists: boolean;
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** A mode as people write it: "0644", "644", or 644 as YAML 1.2 reads an unquoted 0644. */
export function parseMode(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const s = String(v);
  if (!/^0?[0-7]{3,4}$/.test(s)) {
    throw new TypeError(`Invalid file mode ${JSON.stringify(v)}: expected e.g. "0644"`);
  }
  return parseInt(s, 8);
}

const octal = (m: number) => `0${m.toString(8).padStart(3, "0")}`;

async function stat(b: Broker, path: string): Promise<Stat> {
  return await b.request("stat", { path }) as Stat;
}

/** The text of `contents` (a list is joined by lines), with a final newline unless refused. */
function contentsText(v: unknown, newline: unknown): string {
  const text = Array.isArray(v) ? v.join("\n") : typeof v === "string" ? v : JSON.stringify(v);
  return newline === false || text.endsWith("\n") ? text : text + "\n";
}

const HASHES: Record<string, string> = {
  md5: "MD5",
  sha1: "SHA-1",
  sha256: "SHA-256",
  sha512: "SHA-512",
};
const HASH_BY_LENGTH: Record<number, string> = {
  32: "md5",
  40: "sha1",
  64: "sha256",
  128: "sha512",
};

/** Check `text` against a `source_hash` given as `sha256=<hex>` or a bare hex digest. */
async function checkHash(text: string, hash: unknown, ref: string): Promise<void> {
  const m = /^(?:(md5|sha1|sha256|sha512)=)?([0-9a-f]+)$/i.exec(String(hash).trim());
  const alg = m && (m[1]?.toLowerCase() ?? HASH_BY_LENGTH[m[2]!.length]);
  // A hash file or URL names where a hash is, not the hash: nothing to check against here.
  if (!m || !alg) return;
  const digest = await crypto.subtle.digest(HASHES[alg]!, new TextEncoder().encode(text))
    .catch(() => undefined);
  if (!digest) return;
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (hex !== m[2]!.toLowerCase()) {
    throw new Error(`Source "${ref}" does not match source_hash ${alg}=${m[2]} (it has ${hex})`);
  }
}

/** Salt's `source`: a ref, or a list of refs (or `{ref: hash}` maps); the first that exists. */
async function readSource(c: Chunk, deps: FileDeps): Promise<{ ref: string; text: string }> {
  const entries = Array.isArray(c.args.source) ? c.args.source : [c.args.source];
  const refs = entries.flatMap((e): [string, unknown][] =>
    e && typeof e === "object" ? Object.entries(e) : [[String(e), c.args.source_hash]]
  );
  for (const [ref, hash] of refs) {
    let text: string;
    try {
      text = await deps.source(ref);
    } catch {
      continue;
    }
    if (hash !== undefined && c.args.skip_verify !== true) await checkHash(text, hash, ref);
    return { ref, text };
  }
  throw new Error(`Source file not found: ${refs.map(([r]) => r).join(", ")}`);
}

/** What a `file.managed` state wants the file to hold, or undefined when it says nothing. */
async function desired(c: Chunk, deps: FileDeps): Promise<string | undefined> {
  const contents = c.args.contents ?? c.args.content;
  if (contents !== undefined) return contentsText(contents, c.args.contents_newline);
  if (c.args.contents_pillar !== undefined) {
    const key = String(c.args.contents_pillar);
    const v = deps.setting?.(key);
    if (v === undefined) throw new Error(`contents_pillar: no setting "${key}"`);
    return contentsText(v, c.args.contents_newline);
  }
  if (c.args.source === undefined) return undefined;
  const { ref, text } = await readSource(c, deps);
  const template = c.args.template;
  if (template === undefined || template === null) return text;
  if (template !== "jinja") throw new Error(`template: "${template}" is not supported (jinja is)`);
  const vars = { ...asMap(c.args.defaults, "defaults"), ...asMap(c.args.context, "context") };
  return await deps.render(text, ref.replace(/^(salt|zester):\/\//, ""), { sls: c.sls, vars });
}

function asMap(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new TypeError(`${what}: expected a mapping`);
  return v as Record<string, unknown>;
}

/** The `file` state module, bound to `deps`. */
export function fileStates(deps: FileDeps): Record<string, StateFunction> {
  const b = deps.broker;
  return {
    async managed(c, ctx): Promise<Outcome> {
      const path = c.name;
      const mode = parseMode(c.args.mode);
      const st = await stat(b, path);
      if (!st.exists && c.args.create === false) {
        return {
          result: true,
          comment: `File ${path} is not present and is not to be created`,
          changes: {},
        };
      }
      // `replace: False` leaves an existing file's contents alone.
      const want = st.exists && c.args.replace === false ? undefined : await desired(c, deps);
      if (st.exists && st.type !== "file") {
        return {
          result: false,
          comment: `${path} exists and is a ${st.type}, not a file`,
          changes: {},
        };
      }
      const changes: Record<string, unknown> = {};
      let current = "";
      if (st.exists && want !== undefined) {
        current = new TextDecoder().decode(
          (await b.request("read", { path }) as { data: Uint8Array }).data,
        );
      }
      const contentDiffers = want !== undefined && (!st.exists || current !== want);
      if (contentDiffers) {
        changes.diff = st.exists ? unifiedDiff(current, want!, path, path) : "New file";
      }
      if (!st.exists && want === undefined) changes.new = "empty file";
      if (mode !== undefined && st.exists && st.mode !== mode) changes.mode = octal(mode);
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `File ${path} is in the correct state`, changes };
      }
      if (ctx.test) return { result: null, comment: `File ${path} would be updated`, changes };
      if (contentDiffers || !st.exists) {
        await b.request("write", {
          path,
          data: want ?? "",
          mode: mode ?? (st.exists ? undefined : 0o644),
          user: c.args.user,
          group: c.args.group,
          makedirs: c.args.makedirs === true,
        });
      } else if (mode !== undefined) {
        await b.request("chmod", { path, mode });
      }
      return { result: true, comment: `File ${path} updated`, changes };
    },

    async directory(c, ctx): Promise<Outcome> {
      const path = c.name;
      const mode = parseMode(c.args.dir_mode ?? c.args.mode);
      const st = await stat(b, path);
      if (st.exists && st.type !== "directory") {
        return {
          result: false,
          comment: `${path} exists and is a ${st.type}, not a directory`,
          changes: {},
        };
      }
      const changes: Record<string, unknown> = {};
      if (!st.exists) changes[path] = "New Dir";
      else if (mode !== undefined && st.mode !== mode) changes.mode = octal(mode);
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `Directory ${path} is in the correct state`, changes };
      }
      if (ctx.test) return { result: null, comment: `Directory ${path} would be updated`, changes };
      if (!st.exists) {
        await b.request("mkdir", { path, mode: mode ?? 0o755, parents: c.args.makedirs === true });
      } else await b.request("chmod", { path, mode: mode! });
      return { result: true, comment: `Directory ${path} updated`, changes };
    },

    async absent(c, ctx): Promise<Outcome> {
      const path = c.name;
      const st = await stat(b, path);
      if (!st.exists) return { result: true, comment: `File ${path} is not present`, changes: {} };
      const changes = { removed: path };
      if (ctx.test) return { result: null, comment: `File ${path} would be removed`, changes };
      await b.request("remove", { path, recursive: st.type === "directory" });
      return { result: true, comment: `Removed ${path}`, changes };
    },

    async symlink(c, ctx): Promise<Outcome> {
      const path = c.name;
      const target = c.args.target === undefined ? undefined : String(c.args.target);
      if (!target) return { result: false, comment: "file.symlink needs a target", changes: {} };
      const st = await stat(b, path) as Stat & { target?: string };
      if (st.exists && st.type === "symlink" && st.target === target) {
        return { result: true, comment: `Symlink ${path} is present and correct`, changes: {} };
      }
      if (st.exists && st.type !== "symlink" && c.args.force !== true) {
        return {
          result: false,
          comment: `${path} exists and is a ${st.type}; set force: True to replace it`,
          changes: {},
        };
      }
      const changes = { new: `${path} -> ${target}` };
      if (ctx.test) return { result: null, comment: `Symlink ${path} would be set`, changes };
      if (st.exists) await b.request("remove", { path, recursive: st.type === "directory" });
      await b.request("symlink", { path, target });
      return { result: true, comment: `Created symlink ${path} -> ${target}`, changes };
    },

    async append(c, ctx): Promise<Outcome> {
      const path = c.name;
      const raw = c.args.text ?? c.args.sources;
      const lines = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
      const st = await stat(b, path);
      const current = st.exists
        ? new TextDecoder().decode((await b.request("read", { path }) as { data: Uint8Array }).data)
        : "";
      const have = new Set(current.split("\n"));
      const missing = lines.filter((l) => !l.split("\n").every((x) => have.has(x)));
      if (missing.length === 0) {
        return { result: true, comment: `File ${path} is in the correct state`, changes: {} };
      }
      const next = (current && !current.endsWith("\n") ? current + "\n" : current) +
        missing.join("\n") + "\n";
      const changes = { diff: unifiedDiff(current, next, path, path) };
      if (ctx.test) return { result: null, comment: `File ${path} would be appended to`, changes };
      await b.request("write", { path, data: next, makedirs: c.args.makedirs === true });
      return { result: true, comment: `Appended ${missing.length} line(s) to ${path}`, changes };
    },

    async replace(c, ctx): Promise<Outcome> {
      const path = c.name;
      if (c.args.pattern === undefined || c.args.repl === undefined) {
        return { result: false, comment: "file.replace needs pattern and repl", changes: {} };
      }
      let re: RegExp;
      try {
        re = new RegExp(String(c.args.pattern), "gm");
      } catch (e) {
        return { result: false, comment: `Invalid pattern: ${(e as Error).message}`, changes: {} };
      }
      const st = await stat(b, path);
      if (!st.exists) return { result: false, comment: `${path}: no such file`, changes: {} };
      const current = new TextDecoder().decode(
        (await b.request("read", { path }) as { data: Uint8Array }).data,
      );
      const count = Number(c.args.count ?? 0);
      let n = 0;
      // Python's \1 back-references become JavaScript's $1.
      const repl = String(c.args.repl).replace(/\\(\d)/g, "$$$1");
      const next = current.replace(re, (...m) => {
        if (count > 0 && n >= count) return m[0];
        n++;
        return m[0].replace(new RegExp(re.source, "m"), repl);
      });
      if (next === current) {
        return { result: true, comment: `No changes needed to ${path}`, changes: {} };
      }
      const changes = { diff: unifiedDiff(current, next, path, path) };
      if (ctx.test) return { result: null, comment: `File ${path} would be changed`, changes };
      await b.request("write", { path, data: next });
      return { result: true, comment: `Changes were made to ${path}`, changes };
    },

    async touch(c, ctx): Promise<Outcome> {
      const path = c.name;
      const st = await stat(b, path);
      if (st.exists) return { result: true, comment: `File ${path} exists`, changes: {} };
      const changes = { new: path };
      if (ctx.test) return { result: null, comment: `File ${path} would be created`, changes };
      await b.request("write", { path, data: "", makedirs: c.args.makedirs === true });
      return { result: true, comment: `Created ${path}`, changes };
    },
  };
}
