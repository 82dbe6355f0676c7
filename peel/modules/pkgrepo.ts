/**
 * `pkgrepo.managed|absent`: package repositories with Salt's arguments — for apt the one-line
 * `name` (`deb [arch=… signed-by=…] <uri> <suite> <components…>`) with `file`, `key_url`
 * (`salt://`, ASCII-armored) or `key_text`; for dnf/yum the repository id with `humanname`,
 * `baseurl`/`mirrorlist`, `gpgcheck`, `gpgkey`. The broker writes the files itself from the
 * parsed fields, for the URLs its policy's `repos` lists.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { Broker, Manager, RepoResult, RunResult } from "../broker/mod.ts";
import { badArg, boolArg, listArg, needStr, strArg } from "./args.ts";
import { unifiedDiff } from "./diff.ts";
import { type FileDeps, treeRead } from "./file_io.ts";

const TIMEOUT_MS = 600_000;
const SOURCES_D = "/etc/apt/sources.list.d/";

/** An apt one-line source as Salt's `name` gives it. */
function parseAptLine(c: Chunk, line: string) {
  const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)\s*$/.exec(line.trim());
  if (!m) throw badArg(c, "name", "an apt source line: deb [options] <uri> <suite> [components]");
  const opts: Record<string, string> = {};
  for (const o of (m[2] ?? "").split(/\s+/).filter(Boolean)) {
    const [k, v] = o.split("=", 2);
    if (!v || !["arch", "signed-by"].includes(k!)) {
      throw badArg(c, "name", "source options arch= and signed-by= only");
    }
    opts[k!] = v;
  }
  return {
    type: m[1]!,
    uri: m[3]!,
    suite: m[4]!,
    components: m[5]!.trim().split(/\s+/).filter(Boolean),
    arch: opts.arch?.split(",") ?? listArg(c, "architectures", true) ?? [],
    signed_by: opts["signed-by"] ?? strArg(c, "signed_by"),
  };
}

/** The repository id: the `file` name (apt), else a name made from the URL; dnf/yum: `name`. */
function repoId(c: Chunk, m: Manager, uri?: string): string {
  if (m !== "apt") {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(c.name)) {
      throw badArg(c, "name", "a repository id (letters, digits, _ . -)");
    }
    return c.name;
  }
  const file = strArg(c, "file");
  if (file !== undefined) {
    const id = file.startsWith(SOURCES_D)
      ? /^([^/]+)\.list$/.exec(file.slice(SOURCES_D.length))
      : null;
    if (!id) throw badArg(c, "file", `a ${SOURCES_D}<name>.list file`);
    return id[1]!;
  }
  return (uri ?? "").replace(/^[a-z]+:\/\//, "").replace(/[^A-Za-z0-9.-]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/** The key the state gives: `key_text`, or `key_url` from the tree (ASCII-armored). */
async function keyOf(c: Chunk, deps: FileDeps, urlKey: string): Promise<Uint8Array | undefined> {
  let text = strArg(c, "key_text");
  const ref = strArg(c, urlKey);
  if (text === undefined && ref !== undefined) {
    if (/^(salt|zester):\/\//.test(ref)) text = await treeRead(deps, ref);
    // dnf and yum fetch a gpgkey URL themselves; apt's key must come with the state.
    else if (urlKey === "key_url") {
      throw badArg(c, urlKey, "a salt:// file (the peel and the broker reach no other host)");
    }
  }
  if (text === undefined) return undefined;
  if (!text.includes("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
    throw badArg(
      c,
      strArg(c, "key_text") === undefined ? urlKey : "key_text",
      "an ASCII-armored key",
    );
  }
  return new TextEncoder().encode(text);
}

/** The `pkgrepo` state module. */
export function pkgrepoStates(
  deps: FileDeps,
  manager: () => Promise<Manager>,
): Record<string, StateFunction> {
  const b: Broker = deps.broker;
  const refresh = async (c: Chunk, m: Manager): Promise<string | undefined> => {
    if (!boolArg(c, "refresh", true)) return undefined;
    const r = await b.request("pkg.refresh", { manager: m }, {
      timeoutMs: TIMEOUT_MS,
    }) as RunResult;
    return r.retcode === 0
      ? undefined
      : (r.stderr || r.stdout).trim().split("\n").slice(-2).join(" ");
  };
  return {
    async managed(c, ctx): Promise<Outcome> {
      const m = await manager();
      const enabled = c.args.disabled !== undefined
        ? !boolArg(c, "disabled", false)
        : boolArg(c, "enabled", true);
      let spec: Record<string, unknown>;
      if (m === "apt") {
        const line = parseAptLine(c, c.name);
        const key = await keyOf(c, deps, "key_url");
        spec = { manager: m, id: repoId(c, m, line.uri), ...line, enabled, key };
        if (key) delete spec.signed_by;
      } else {
        const mirror = strArg(c, "mirrorlist");
        const gpgkey = strArg(c, "gpgkey");
        const key = await keyOf(c, deps, "gpgkey");
        spec = {
          manager: m,
          id: repoId(c, m),
          name: strArg(c, "humanname"),
          uri: mirror ?? needStr(c, "baseurl"),
          mirrorlist: mirror !== undefined,
          gpgcheck: boolArg(c, "gpgcheck", true),
          gpgkey: key ? undefined : gpgkey,
          enabled,
          key,
        };
      }
      const r = await b.request("pkgrepo.set", { ...spec, check: ctx.test }) as RepoResult;
      const changes: Record<string, unknown> = {};
      if (r.key?.changed) changes[r.key.path] = r.key.existed ? "Key replaced" : "New key";
      if (r.repo.old !== r.repo.new) {
        changes[r.repo.path] = r.repo.old === null
          ? "New file"
          : unifiedDiff(r.repo.old, r.repo.new, r.repo.path, r.repo.path);
      }
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `Package repo '${c.name}' already configured`, changes };
      }
      if (ctx.test) {
        return { result: null, comment: `Package repo '${c.name}' would be configured`, changes };
      }
      const failed = await refresh(c, m);
      if (failed) {
        return {
          result: false,
          comment: `Configured, but ${m} refresh failed: ${failed}`,
          changes,
        };
      }
      return { result: true, comment: `Configured package repo '${c.name}'`, changes };
    },

    async absent(c, ctx): Promise<Outcome> {
      const m = await manager();
      const id = repoId(c, m, m === "apt" ? parseAptLine(c, c.name).uri : undefined);
      const { removed } = await b.request("pkgrepo.remove", {
        manager: m,
        id,
        check: ctx.test,
      }) as {
        removed: string[];
      };
      if (removed.length === 0) {
        return { result: true, comment: `Package repo ${c.name} is absent`, changes: {} };
      }
      const changes = Object.fromEntries(removed.map((f) => [f, "removed"]));
      if (ctx.test) {
        return { result: null, comment: `Package repo '${c.name}' will be removed`, changes };
      }
      return { result: true, comment: `Removed repo ${c.name}`, changes };
    },
  };
}
