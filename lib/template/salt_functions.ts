/**
 * The `salt` mapping templates call (`salt['pillar.get'](…)`, `salt.grains.get(…)`): Salt's
 * functions that formulas use in templates, with Salt's arguments. Data functions run in the
 * worker; `cmd.*` and `file.*` on the host's files ask the host (through the broker, under its
 * policy). Any other name is an error naming the function.
 * @module
 */
import { factInterfaces, ipAddrs } from "../grains/mod.ts";
import { dumpYaml, loadYaml } from "../yaml/mod.ts";
import { pyJson } from "./filters.ts";
import type { HostCall } from "./protocol.ts";
import { put, splitKeywords, withKeywords } from "./py_methods.ts";
import { isDict, pyBool, pyRegExp, pyStr } from "./python.ts";
import {
  configGet,
  deepCopy,
  dictUpdate,
  filterBy,
  pillarGet,
  saltMerge,
  traverse,
} from "./salt.ts";
import { onMissingKey, trust } from "./safe_lookup.ts";

type Dict = Record<string, unknown>;
// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => unknown;

/** Runs one host call and returns its answer, or throws the host's error. */
export type HostCaller = (fn: HostCall, args: unknown[]) => unknown;

/** What the Salt functions read. */
export interface SaltData {
  grains: Dict;
  /** Zester's facts, where a key `grains` lacks is looked up (`os:family`). */
  facts: Dict;
  pillar: Dict;
  opts: Dict;
  /** The state tree's files (for `cp.list_master`, `defaults.get`, `slsutil.file_exists`). */
  files: ReadonlyMap<string, string>;
  call: HostCaller;
}

interface RunResult {
  retcode: number;
  stdout: string;
  stderr: string;
}

const PATH_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

function ipAddrsOf(grains: Dict, family: "ipv4" | "ipv6") {
  return withKeywords(
    ["interface", "include_loopback", "cidr", "type"],
    (iface?: unknown, loopback?: unknown, cidr?: unknown, type?: unknown) =>
      ipAddrs(grains, family, {
        interface: iface ? pyStr(iface) : undefined,
        include_loopback: pyBool(loopback),
        cidr: cidr ? pyStr(cidr) : undefined,
        type: type ? pyStr(type) : undefined,
      }),
  );
}

function treeDirs(files: ReadonlyMap<string, string>): string[] {
  const dirs = new Set<string>();
  for (const path of files.keys()) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return [...dirs].sort();
}

/** Salt's `slsutil.serialize`/`deserialize` for the formats templates use. */
function serialize(format: unknown, obj: unknown, kw: Dict): string {
  if (format === "json") return pyJson(obj, pyBool(kw.sort_keys), kw.indent);
  if (format === "yaml") {
    const flow = kw.default_flow_style === undefined ? false : pyBool(kw.default_flow_style);
    return dumpYaml(obj, flow, pyBool(kw.allow_unicode)) + "\n";
  }
  throw new Error(`slsutil.serialize: unsupported serializer "${pyStr(format)}"`);
}

/** Salt's parameter names of the functions below that take no keyword arguments of their own. */
const PARAMS: Record<string, string[]> = {
  "grains.has_value": ["key"],
  "grains.equals": ["key", "value"],
  "pillar.raw": ["key"],
  "pillar.keys": ["key"],
  "slsutil.deserialize": ["serializer", "stream_or_string"],
  "slsutil.file_exists": ["filename"],
  "slsutil.path_exists": ["path"],
  "defaults.deepcopy": ["source"],
  "file.file_exists": ["path"],
  "file.directory_exists": ["path"],
  "file.access": ["path", "mode"],
  "file.read": ["path", "binary"],
  "file.contains_regex": ["path", "regex", "lchar"],
  "file.contains": ["path", "text"],
  "file.dirname": ["path"],
  "file.basename": ["path"],
  "user.info": ["name"],
  "cmd.has_exec": ["cmd"],
  "cmd.which": ["cmd"],
  "network.interface_ip": ["iface"],
  "test.echo": ["text"],
  "mine.get": ["tgt", "fun", "tgt_type", "exclude_minion"],
};

/** One module's functions, for `salt.<module>.<function>`. */
class SaltModule {}

/** The `salt` mapping over `data`. */
export function saltFunctions(data: SaltData): Dict {
  const { grains, facts, pillar, opts, files, call } = data;
  const MISSING = {};
  const grain = (key: string, dflt: unknown, delim = ":") => {
    const v = traverse(grains, key, MISSING, delim);
    return v === MISSING ? traverse(facts, key, dflt, delim) : v;
  };
  const run = (cmd: unknown, kw: Dict): RunResult => {
    if (typeof cmd !== "string" || cmd === "") throw new TypeError("cmd: a command is required");
    const { cwd, env, stdin, timeout, runas } = kw;
    return call("cmd.run_all", [cmd, { cwd, env, stdin, timeout, runas }]) as RunResult;
  };
  const cmd = (pick: (r: RunResult) => unknown): Fn => (...args: unknown[]) => {
    const [[command], kw] = splitKeywords(args);
    return pick(run(command ?? kw.cmd, kw));
  };
  const stat = (path: unknown) =>
    call("file.stat", [pyStr(path)]) as { exists: boolean; type?: string };
  const which = (name: unknown) => {
    const n = pyStr(name);
    if (n.startsWith("/")) return stat(n).exists ? n : null;
    return PATH_DIRS.map((d) => `${d}/${n}`).find((p) => stat(p).type === "file") ?? null;
  };
  const log = () => "";
  const fns: Record<string, Fn> = {
    "grains.get": withKeywords(
      ["key", "default", "delimiter"],
      (key: unknown, dflt: unknown = "", delim: unknown = ":") =>
        grain(pyStr(key), dflt, pyStr(delim)),
    ),
    "grains.item": (...keys: unknown[]) =>
      Object.fromEntries(keys.filter((k) => typeof k === "string").map((k) => [k, grain(k, "")])),
    "grains.items": () => grains,
    "grains.ls": () => Object.keys(grains).sort(),
    "grains.has_value": (key: unknown) => pyBool(traverse(grains, pyStr(key), null)),
    "grains.equals": (key: unknown, value: unknown) => traverse(grains, pyStr(key), null) === value,
    "grains.filter_by": withKeywords(
      ["lookup_dict", "grain", "merge", "default", "base"],
      (lookup: unknown, grain?: unknown, merge?: unknown, dflt?: unknown, base?: unknown) =>
        filterBy(grains, lookup, grain ?? "os_family", merge, dflt ?? "default", base),
    ),
    "pillar.get": withKeywords(
      ["key", "default", "merge", "merge_nested_lists", "delimiter"],
      (key: unknown, dflt: unknown = "", merge?: unknown, lists?: unknown, delim: unknown = ":") =>
        pillarGet(
          pillar,
          pyStr(key),
          dflt,
          pyBool(merge),
          pyStr(delim),
          pyBool(lists ?? opts.pillar_merge_lists),
        ),
    ),
    "pillar.item": (...keys: unknown[]) =>
      Object.fromEntries(
        keys.filter((k) => typeof k === "string").map((k) => [k, traverse(pillar, k, "")]),
      ),
    "pillar.items": () => pillar,
    "pillar.raw": (key?: unknown) => key === undefined ? pillar : traverse(pillar, pyStr(key), {}),
    "pillar.keys": (key: unknown) => {
      const v = traverse(pillar, pyStr(key), {});
      if (!isDict(v)) throw new TypeError(`Pillar value in key ${pyStr(key)} is not a dict`);
      return Object.keys(v);
    },
    "pillar.filter_by": withKeywords(
      ["lookup_dict", "pillar", "merge", "default", "base"],
      (lookup: unknown, key?: unknown, merge?: unknown, dflt?: unknown, base?: unknown) =>
        filterBy(pillar, lookup, key, merge, dflt ?? "default", base),
    ),
    "config.get": withKeywords(
      [
        "key",
        "default",
        "merge",
        "omit_opts",
        "omit_pillar",
        "omit_master",
        "omit_grains",
        "delimiter",
      ],
      (key: unknown, dflt: unknown = "", merge?: unknown, ...rest: unknown[]) => {
        const [noOpts, noPillar, noMaster, noGrains, delim = ":"] = rest;
        const master = isDict(pillar.master) ? pillar.master : {};
        return configGet(
          {
            opts: pyBool(noOpts) ? {} : opts,
            grains: pyBool(noGrains) ? {} : grains,
            pillar: pyBool(noPillar) ? {} : pillar,
            master: pyBool(noMaster) ? {} : master,
          },
          pyStr(key),
          dflt,
          merge,
          pyStr(delim),
        );
      },
    ),
    "config.option": withKeywords(
      ["value", "default"],
      (key: unknown, dflt: unknown = "") => traverse(opts, pyStr(key), dflt),
    ),
    "config.items": () => opts,
    "slsutil.merge": withKeywords(
      ["obj_a", "obj_b", "strategy", "renderer", "merge_lists"],
      (a: unknown, b: unknown, strategy: unknown = "smart", _r?: unknown, lists?: unknown) =>
        saltMerge(a, b, pyStr(strategy), pyBool(lists)),
    ),
    "slsutil.merge_all": withKeywords(
      ["lst", "strategy", "renderer", "merge_lists"],
      (list: unknown, strategy: unknown = "smart", _r?: unknown, lists?: unknown) =>
        (Array.isArray(list) ? list : []).reduce(
          (acc: unknown, x: unknown) => saltMerge(acc, x, pyStr(strategy), pyBool(lists)),
          {},
        ),
    ),
    "slsutil.update": withKeywords(
      ["dest", "upd", "recursive_update", "merge_lists"],
      (dest: unknown, upd: unknown, _r?: unknown, lists?: unknown) =>
        dictUpdate(dest, upd, pyBool(lists)),
    ),
    "slsutil.serialize": (format: unknown, obj: unknown, ...rest: unknown[]) =>
      serialize(format, obj, isDict(rest.at(-1)) ? rest.at(-1) as Dict : {}),
    "slsutil.deserialize": (format: unknown, text: unknown) =>
      format === "json" ? JSON.parse(pyStr(text)) : loadYaml(pyStr(text)),
    "slsutil.file_exists": (path: unknown) => files.has(pyStr(path).replace(/^salt:\/\//, "")),
    "slsutil.path_exists": (path: unknown) => {
      const p = pyStr(path).replace(/^salt:\/\//, "").replace(/\/$/, "");
      return files.has(p) || treeDirs(files).includes(p);
    },
    "defaults.merge": withKeywords(
      ["dest", "src", "merge_lists", "in_place", "convert_none"],
      (dest: unknown, src: unknown, lists?: unknown, inPlace: unknown = true) => {
        const target = pyBool(inPlace) ? (dest ?? {}) : deepCopy(dest ?? {});
        return dictUpdate(target, src ?? {}, pyBool(lists));
      },
    ),
    "defaults.update": withKeywords(
      ["dest", "defaults", "merge_lists", "in_place"],
      (dest: unknown, defaults: unknown, lists: unknown = true, inPlace: unknown = true) => {
        const merged = dictUpdate(deepCopy(defaults ?? {}), dest ?? {}, pyBool(lists));
        if (!pyBool(inPlace) || !isDict(dest)) return merged;
        for (const [k, v] of Object.entries(merged)) put(dest, k, v);
        return dest;
      },
    ),
    "defaults.deepcopy": (v: unknown) => deepCopy(v),
    // Salt's `defaults.get('formula:key')`: from `formula/defaults.yaml` (or `.json`).
    "defaults.get": withKeywords(["key", "default"], (key: unknown, dflt: unknown = "") => {
      const [formula, path] = pyStr(key).split(/:(.*)/s) as [string, string | undefined];
      for (const name of [`${formula}/defaults.yaml`, `${formula}/defaults.json`]) {
        const text = files.get(name);
        if (text === undefined) continue;
        const values = name.endsWith(".json") ? JSON.parse(text) : loadYaml(text);
        return path ? traverse(values, path, dflt) : values;
      }
      return path ? dflt : {};
    }),
    "file.file_exists": (path: unknown) => stat(path).type === "file",
    "file.directory_exists": (path: unknown) => stat(path).type === "directory",
    "file.access": (path: unknown) => stat(path).exists,
    "file.read": (path: unknown) => call("file.read", [pyStr(path)]),
    "file.contains_regex": (path: unknown, regex: unknown) => {
      if (!stat(path).exists) return false;
      const re = pyRegExp(pyStr(regex));
      return pyStr(call("file.read", [pyStr(path)])).split("\n").some((l) => re.test(l));
    },
    "file.contains": (path: unknown, text: unknown) =>
      stat(path).exists && pyStr(call("file.read", [pyStr(path)])).includes(pyStr(text)),
    "file.dirname": (path: unknown) => {
      const p = pyStr(path);
      const i = p.lastIndexOf("/");
      return i < 0 ? "" : i === 0 ? "/" : p.slice(0, i).replace(/\/+$/, "") || "/";
    },
    "file.basename": (path: unknown) => pyStr(path).slice(pyStr(path).lastIndexOf("/") + 1),
    "file.join": (...parts: unknown[]) =>
      parts.map(pyStr).reduce(
        (a, b) => b.startsWith("/") || a === "" ? b : `${a.replace(/\/$/, "")}/${b}`,
        "",
      ),
    "cmd.run": cmd((r) => `${r.stdout}${r.stdout && r.stderr ? "\n" : ""}${r.stderr}`.trimEnd()),
    "cmd.run_stdout": cmd((r) => r.stdout.trimEnd()),
    "cmd.run_stderr": cmd((r) => r.stderr.trimEnd()),
    "cmd.retcode": cmd((r) => r.retcode),
    "cmd.run_all": cmd((r) => ({
      pid: 0,
      retcode: r.retcode,
      stdout: r.stdout.trimEnd(),
      stderr: r.stderr.trimEnd(),
    })),
    "user.info": (name: unknown) => {
      const table = (file: string) =>
        pyStr(call("file.read", [file])).split("\n").filter(Boolean).map((l) => l.split(":"));
      const f = table("/etc/passwd").find((f) => f[0] === pyStr(name));
      if (!f) return {};
      const [user = "", passwd, uid, gid, gecos = "", home, shell] = f;
      const [fullname = "", roomnumber = "", workphone = "", homephone = "", other = ""] = gecos
        .split(",");
      const groups = table("/etc/group")
        .filter((g) => g[2] === gid || (g[3] ?? "").split(",").includes(user))
        .map((g) => g[0]).sort();
      return {
        name: user,
        passwd,
        uid: Number(uid),
        gid: Number(gid),
        home,
        shell,
        fullname,
        roomnumber,
        workphone,
        homephone,
        other,
        groups,
      };
    },
    "cmd.has_exec": (name: unknown) => which(name) !== null,
    "cmd.which": (name: unknown) => which(name),
    "network.ip_addrs": ipAddrsOf(grains, "ipv4"),
    "network.ip_addrs6": ipAddrsOf(grains, "ipv6"),
    "network.interfaces": () =>
      Object.fromEntries(
        factInterfaces(grains).map(([name, i]) => [name, {
          hwaddr: i.mac ?? "",
          up: true,
          inet: i.ipv4.map((address) => ({ address, label: name })),
          inet6: i.ipv6.map((address) => ({ address })),
        }]),
      ),
    "network.interface_ip": (iface: unknown) =>
      factInterfaces(grains).find(([n]) => n === iface)?.[1].ipv4[0] ?? "",
    "network.get_hostname": () => grains.fqdn ?? grains.host ?? "",
    "test.ping": () => true,
    "test.true": () => true,
    "test.false": () => false,
    "test.echo": (v: unknown) => v,
    "mine.get": (tgt: unknown, fun: unknown, tgtType: unknown = "glob", exclude?: unknown) => {
      const target = Array.isArray(tgt) ? tgt.map(pyStr).join(",") : pyStr(tgt);
      const found = call("basket.get", [target, pyStr(fun), pyStr(tgtType)]) as Dict;
      if (pyBool(exclude)) delete found[pyStr(opts.id)];
      return found;
    },
    "cp.list_master": withKeywords(
      ["saltenv", "prefix"],
      (_e?: unknown, prefix: unknown = "") =>
        [...files.keys()].filter((p) => p.startsWith(pyStr(prefix))).sort(),
    ),
    "cp.list_master_dirs": withKeywords(
      ["saltenv", "prefix"],
      (_e?: unknown, prefix: unknown = "") =>
        treeDirs(files).filter((p) => p.startsWith(pyStr(prefix))),
    ),
  };
  for (const level of ["debug", "info", "warning", "error", "critical", "trace", "exception"]) {
    fns[`log.${level}`] = log;
  }
  fns["cmd.shell"] = fns["cmd.run"]!;
  fns["facts.get"] = fns["grains.get"]!;
  fns["settings.get"] = fns["pillar.get"]!;
  fns["settings.items"] = fns["pillar.items"]!;
  const table: Dict = {};
  for (const [name, plain] of Object.entries(fns)) {
    const fn = PARAMS[name] ? withKeywords(PARAMS[name], plain) : plain;
    // Errors name the function: "cmd.run: Denied by policy: …".
    put(
      table,
      name,
      trust((...args: unknown[]) => {
        try {
          return fn(...args);
        } catch (e) {
          throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
        }
      }),
    );
    // `salt.cmd.run(…)` as well as `salt['cmd.run'](…)`; a module is no dict, so that
    // `salt.grains.get` is the function, not a dict's `get`.
    const [module, fun] = name.split(".") as [string, string];
    if (!Object.hasOwn(table, module)) put(table, module, new SaltModule());
    put(table[module] as Dict, fun, table[name]);
  }
  onMissingKey(table, (name) =>
    name.includes(".")
      ? trust(() => {
        throw new Error(`Salt function "${name}" is not available in templates`);
      })
      : undefined);
  return table;
}
