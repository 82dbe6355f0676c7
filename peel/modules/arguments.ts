/**
 * The arguments each state function takes, as Salt spells them. An argument a function does not
 * take is a warning in the state's comment, worded as Salt words it (`'contnets' is an invalid
 * keyword argument for 'file.managed'`): a typo is seen, not silently dropped. Salt arguments a
 * module accepts without acting on them are listed under `ignored`, and said so.
 * @module
 */
import type { StateFunction } from "../../lib/state/mod.ts";

/** Arguments the runner handles for every state (guards, retries, Salt's bookkeeping). */
const COMMON = [
  "onlyif",
  "unless",
  "creates",
  "retry",
  "failhard",
  "parallel",
  "require_any",
  "watch_any",
  "onchanges_any",
  "onfail_any",
  "onfail_all",
  "fire_event",
  "reload_modules",
  "reload_pillar",
  "reload_grains",
  "check_cmd_args",
  "__env__",
  "__sls__",
  "__id__",
  "saltenv",
];

/** Per state function: the arguments it acts on, and Salt's that it accepts and ignores. */
const ARGUMENTS: Record<string, { used: string[]; ignored?: string[] }> = {
  "file.managed": {
    used: [
      "source",
      "source_hash",
      "source_hash_name",
      "skip_verify",
      "contents",
      "contents_pillar",
      "contents_grains",
      "contents_newline",
      "content",
      "template",
      "context",
      "defaults",
      "replace",
      "user",
      "group",
      "mode",
      "makedirs",
      "create",
      "backup",
    ],
    ignored: ["show_changes", "dir_mode", "follow_symlinks", "encoding", "check_cmd"],
  },
  "file.directory": {
    used: ["user", "group", "mode", "dir_mode", "makedirs"],
    ignored: ["file_mode", "recurse", "clean", "force", "backupname", "allow_symlink"],
  },
  "file.absent": { used: [] },
  "file.touch": { used: ["makedirs"] },
  "file.symlink": { used: ["target", "force"], ignored: ["makedirs", "user", "group", "mode"] },
  "file.append": { used: ["text", "sources", "makedirs"], ignored: ["source", "template"] },
  "file.replace": {
    used: ["pattern", "repl", "count"],
    ignored: ["flags", "bufsize", "append_if_not_found", "prepend_if_not_found", "backup"],
  },
  "pkg.installed": {
    used: ["pkgs", "version", "refresh", "skip_verify", "hold"],
    ignored: ["fromrepo", "skip_suggestions", "reinstall"],
  },
  "pkg.latest": { used: ["pkgs", "refresh", "skip_verify"], ignored: ["fromrepo"] },
  "pkg.removed": { used: ["pkgs", "version"] },
  "pkg.purged": { used: ["pkgs", "version"] },
  "service.running": { used: ["enable", "reload", "init_delay"], ignored: ["sig", "timeout"] },
  "service.dead": { used: ["enable"], ignored: ["init_delay", "sig", "timeout"] },
  "service.enabled": { used: [] },
  "service.disabled": { used: [] },
  "cmd.run": {
    used: ["cwd", "env", "runas", "timeout", "stateful"],
    ignored: ["shell", "output_loglevel", "hide_output", "umask", "success_retcodes"],
  },
  "cmd.wait": {
    used: ["cwd", "env", "runas", "timeout", "stateful"],
    ignored: ["shell", "output_loglevel", "hide_output", "umask", "success_retcodes"],
  },
  "archive.extracted": {
    used: [
      "source",
      "source_hash",
      "archive_format",
      "enforce_toplevel",
      "if_missing",
      "user",
      "group",
      "options",
      "trim_output",
      "clean",
      "overwrite",
    ],
    ignored: ["source_hash_name", "keep", "keep_source", "skip_verify", "force"],
  },
  "git.latest": {
    used: ["target", "rev", "branch", "force_reset", "force_clone", "depth", "user", "identity"],
    ignored: ["remote", "submodules", "https_user", "https_pass", "fetch_tags"],
  },
  "git.config_set": {
    used: ["value", "multivar", "repo", "user", "global"],
    ignored: ["password", "output_encoding"],
  },
  "git.config_unset": {
    used: ["value_regex", "repo", "user", "global", "all"],
    ignored: ["password", "output_encoding"],
  },
  "ssh_known_hosts.present": {
    used: [
      "user",
      "config",
      "key",
      "enc",
      "fingerprint",
      "fingerprint_hash_type",
      "port",
      "hash_known_hosts",
      "timeout",
    ],
  },
  "ssh_known_hosts.absent": { used: ["user", "config", "port"] },
  "pip.installed": {
    used: [
      "pkgs",
      "requirements",
      "bin_env",
      "find_links",
      "no_index",
      "index_url",
      "upgrade",
      "user",
    ],
  },
  "pip.removed": { used: ["bin_env", "user"] },
  "test.configurable_test_state": { used: ["result", "changes", "comment", "warnings"] },
  "test.nop": { used: [] },
};

function quoteList(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  return q.length === 1 ? q[0]! : `${q.slice(0, -1).join(", ")} and ${q.at(-1)}`;
}

/** `fn` (state function `name`), warning in its comment about arguments it does not take. */
export function checkArguments(name: string, fn: StateFunction): StateFunction {
  const spec = ARGUMENTS[name];
  if (!spec) return fn;
  const used = new Set([...COMMON, ...spec.used]);
  const ignored = new Set(spec.ignored ?? []);
  return async (c, ctx) => {
    const o = await fn(c, ctx);
    const keys = Object.keys(c.args);
    const invalid = keys.filter((k) => !used.has(k) && !ignored.has(k));
    const skipped = keys.filter((k) => ignored.has(k));
    const notes = [o.comment];
    if (invalid.length) {
      notes.push(
        `${quoteList(invalid)} ${
          invalid.length === 1 ? "is an invalid keyword argument" : "are invalid keyword arguments"
        } for '${name}'`,
      );
    }
    if (skipped.length) {
      notes.push(`Not supported by Zester's ${name}, ignored: ${skipped.join(", ")}`);
    }
    return { ...o, comment: notes.filter(Boolean).join("\n") };
  };
}
