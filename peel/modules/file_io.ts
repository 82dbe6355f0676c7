/**
 * What the file states share: reading a file through the broker, managing one file's content
 * and mode (for `file.managed`, `file.recurse`, `file.serialize`), and editing a file's text
 * (for `file.line`, `file.blockreplace`, `file.comment`…), each reporting a unified diff.
 * @module
 */
import type { Chunk, Outcome, StateContext } from "../../lib/state/mod.ts";
import type { Broker } from "../broker/mod.ts";
import type { StateTree } from "../state/tree.ts";
import { badArg, boolArg, strArg } from "./args.ts";
import { unifiedDiff } from "./diff.ts";

/** What the file states need: the broker, and the state tree for `source:`. */
export interface FileDeps {
  broker: Broker;
  /** The state tree `salt://` sources come from; without one, sources fail. */
  tree?: StateTree;
  /** Render a template source with the run's context, the state's SLS and extra variables. */
  render(
    text: string,
    file: string,
    extra?: { sls?: string; vars?: Record<string, unknown> },
  ): Promise<string>;
  /** A settings value by `a:b` key, for `contents_pillar`. */
  setting?(key: string): unknown;
}

/** The tree path of a source: `salt://x`, `zester://x` or a relative path. */
const treePath = (ref: string) => ref.replace(/^(salt|zester):\/\//, "").replace(/\/+$/, "");

/** The text of a state tree file. */
export function treeRead(deps: FileDeps, ref: string): Promise<string> {
  const text = deps.tree?.read(treePath(ref));
  if (text === undefined) {
    return Promise.reject(new Error(`Source "${ref}" is not in the state tree`));
  }
  return Promise.resolve(text);
}

/** The bytes of a state tree file. */
export function treeBytes(deps: FileDeps, ref: string): Uint8Array {
  const data = deps.tree?.bytes(treePath(ref));
  if (data === undefined) throw new Error(`Source "${ref}" is not in the state tree`);
  return data;
}

/** The files under a directory of the state tree, relative to it. */
export function treeList(deps: FileDeps, ref: string): Promise<string[]> {
  return Promise.resolve(deps.tree?.list(treePath(ref)) ?? []);
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
    const text = deps.tree?.read(treePath(ref));
    if (text === undefined) continue;
    if (hash !== undefined && c.args.skip_verify !== true) await checkHash(text, hash, ref);
    return { ref, text };
  }
  throw new Error(`Source file not found: ${refs.map(([r]) => r).join(", ")}`);
}

function asMap(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new TypeError(`${what}: expected a mapping`);
  return v as Record<string, unknown>;
}

/**
 * The text a state wants, as Salt's `file.managed` reads it: `contents` (or `content`),
 * `contents_pillar`, or the first `source` that exists (checked against `source_hash`),
 * rendered with `template: jinja` and the state's `defaults` and `context`.
 */
export async function desired(c: Chunk, deps: FileDeps): Promise<string | undefined> {
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
  return await template(c, deps, text, ref);
}

/** `text` rendered if the state says `template: jinja`; other engines are refused. */
export async function template(
  c: Chunk,
  deps: FileDeps,
  text: string,
  ref: string,
): Promise<string> {
  const engine = strArg(c, "template");
  if (engine === undefined) return text;
  if (engine !== "jinja") throw badArg(c, "template", "jinja");
  const vars = { ...asMap(c.args.defaults, "defaults"), ...asMap(c.args.context, "context") };
  return await deps.render(text, treePath(ref), { sls: c.sls, vars });
}

/** What the broker's `stat` reports. */
export interface Stat {
  exists: boolean;
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  target?: string;
}

/** A mode as Salt prints it: `0644`. */
export const octal = (m: number) => `0${m.toString(8).padStart(3, "0")}`;

/** What is at `path`. */
export async function stat(b: Broker, path: string): Promise<Stat> {
  return await b.request("stat", { path }) as Stat;
}

/** The text of the file at `path`. */
export async function readText(b: Broker, path: string): Promise<string> {
  const { data } = await b.request("read", { path }) as { data: Uint8Array };
  return new TextDecoder().decode(data);
}

/** How one file should be. */
export interface FileSpec {
  /** Its content; undefined leaves an existing file's content alone (a new one is empty). */
  content?: string;
  mode?: number;
  user?: string;
  group?: string;
  makedirs?: boolean;
  /** Keep a copy of the old content (the broker's `backup`) before replacing it. */
  backup?: boolean;
}

/** What {@linkcode manageFile} found or did: Salt's changes, or why it could not. */
export interface Managed {
  changes: Record<string, unknown>;
  error?: string;
  backup?: string;
}

/** Bring the file at `path` to `spec`; in test mode only report what would change. */
export async function manageFile(
  b: Broker,
  path: string,
  spec: FileSpec,
  test: boolean,
): Promise<Managed> {
  const st = await stat(b, path);
  if (st.exists && st.type !== "file") {
    return { changes: {}, error: `${path} exists and is a ${st.type}, not a file` };
  }
  const changes: Record<string, unknown> = {};
  const current = st.exists && spec.content !== undefined ? await readText(b, path) : "";
  const contentDiffers = spec.content !== undefined && (!st.exists || current !== spec.content);
  if (contentDiffers) {
    changes.diff = st.exists ? unifiedDiff(current, spec.content!, path, path) : "New file";
  }
  if (!st.exists && spec.content === undefined) changes.new = "empty file";
  if (spec.mode !== undefined && st.exists && st.mode !== spec.mode) {
    changes.mode = octal(spec.mode);
  }
  if (test || Object.keys(changes).length === 0) return { changes };
  let backup: string | undefined;
  if (contentDiffers || !st.exists) {
    if (spec.backup && st.exists) {
      backup = ((await b.request("backup", { path })) as { backup: string | null }).backup ??
        undefined;
    }
    await b.request("write", {
      path,
      data: spec.content ?? "",
      mode: spec.mode ?? (st.exists ? undefined : 0o644),
      user: spec.user,
      group: spec.group,
      makedirs: spec.makedirs === true,
    });
  } else if (spec.mode !== undefined) {
    await b.request("chmod", { path, mode: spec.mode });
  }
  return { changes, backup };
}

/** How {@linkcode editFile} words its comments, as Salt's state does. */
export interface EditWords {
  /** Nothing to change. */
  none: string;
  /** Test mode, something would change. */
  would: string;
  /** Changed. */
  done: string;
}

const SALT_EDIT: EditWords = {
  none: "No changes needed to be made",
  would: "Changes would be made",
  done: "Changes were made",
};

/**
 * Edit the text of file `c.name` with `transform` (which throws to fail the state, or returns
 * the new text). A missing file fails the state unless `create` (then it starts empty). `words`
 * is asked after `transform` ran, so comments may count what it did.
 */
export async function editFile(
  b: Broker,
  c: Chunk,
  ctx: StateContext,
  transform: (text: string) => string,
  opts: { create?: boolean; words?: () => Partial<EditWords> } = {},
): Promise<Outcome> {
  const path = c.name;
  const st = await stat(b, path);
  if (st.exists && st.type !== "file") {
    return {
      result: false,
      comment: `${path} exists and is a ${st.type}, not a file`,
      changes: {},
    };
  }
  if (!st.exists && !opts.create) {
    return { result: false, comment: `${path}: file not found`, changes: {} };
  }
  const current = st.exists ? await readText(b, path) : "";
  const next = transform(current);
  const words = { ...SALT_EDIT, ...opts.words?.() };
  if (next === current && st.exists) return { result: true, comment: words.none, changes: {} };
  const changes = { diff: st.exists ? unifiedDiff(current, next, path, path) : "New file" };
  if (ctx.test) return { result: null, comment: words.would, changes };
  await b.request("write", {
    path,
    data: next,
    makedirs: boolArg(c, "makedirs", false),
    ...(st.exists ? {} : { mode: 0o644 }),
  });
  return { result: true, comment: words.done, changes };
}

/** `text` as lines, without the empty piece after a final newline. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** `lines` joined, ending in a newline (none for no lines). */
export function joinLines(lines: readonly string[]): string {
  return lines.length ? lines.join("\n") + "\n" : "";
}
