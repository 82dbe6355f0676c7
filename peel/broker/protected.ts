/**
 * The paths no broker operation may change, whatever `write_paths` say: the policy file, the
 * audit log, the launcher, the broker's code (its checkout, or its binary when compiled), the
 * Deno executable and cache it runs from, and the peel's NATS credentials and keys — nor any
 * directory above them, since renaming an ancestor and putting another in its place replaces
 * them as surely as writing them would.
 * @module
 */
import { posix } from "node:path";
import type { PeelConfig } from "../../lib/config/mod.ts";

/** Whether `dir` is `path` or one of its ancestors (on whole segments). */
function above(dir: string, path: string): boolean {
  return dir === path || dir === "/" || path.startsWith(dir + "/");
}

/** The form of `path` with its symlinks resolved, besides `path` itself. */
function bothForms(path: string): string[] {
  try {
    const real = Deno.realPathSync(path);
    return real === path ? [path] : [path, real];
  } catch {
    return [path];
  }
}

/** The protected paths of one broker, and the check against them. */
export class ProtectedPaths {
  /** Files: each may not be changed, nor any directory above it. */
  readonly files: readonly string[];
  /** Trees: nothing in them may be changed, nor any directory above them. */
  readonly trees: readonly string[];

  /** Protect `files` and `trees` (absolute paths), as given and as resolved. */
  constructor(files: readonly string[], trees: readonly string[] = []) {
    this.files = [...new Set(files.flatMap(bothForms))];
    this.trees = [...new Set(trees.flatMap(bothForms))];
  }

  /** The protected paths of a broker reading its policy from `file`, which holds `cfg`. */
  static of(
    cfg: Pick<PeelConfig, "broker" | "nats_creds" | "nats_key" | "nats_cert" | "nats_ca">,
    file: string,
  ): ProtectedPaths {
    const dir = posix.dirname(file);
    const nats = [cfg.nats_creds, cfg.nats_key, cfg.nats_cert, cfg.nats_ca]
      .filter((p): p is string => !!p)
      .map((p) => posix.resolve(dir, p));
    const files = [file, cfg.broker.audit_log, cfg.broker.launcher, Deno.execPath(), ...nats];
    if (Deno.build.standalone) return new ProtectedPaths(files);
    const home = Deno.env.get("HOME") ?? "/root";
    const denoDir = Deno.env.get("DENO_DIR") || `${home}/.cache/deno`;
    const checkout = posix.normalize(new URL("../../", import.meta.url).pathname);
    return new ProtectedPaths(files, [checkout.replace(/\/$/, ""), denoDir]);
  }

  /** The protected path that changing `path` would touch, or undefined when there is none. */
  hit(path: string): string | undefined {
    return this.files.find((f) => above(path, f)) ??
      this.trees.find((t) => above(path, t) || above(t, path));
  }
}
