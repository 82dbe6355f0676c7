/**
 * `pip.installed|removed`: Python packages in a virtualenv (`bin_env`), with Salt's arguments
 * (`name` or `pkgs`, `requirements`, `find_links`/`no_index`/`index_url` for a local wheel dir or
 * index, `upgrade`, `user`) and changes (`{"name==version": "Installed"}`). What would be
 * installed is pip's own answer (`--dry-run --report`), so test mode predicts it exactly.
 * Requirements files are read here and sent as package specs: an option in one is an error.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import { normalizeName, PIP_SPEC, type PipPlan } from "../broker/mod.ts";
import { badArg, boolArg, listArg, needStr, strArg } from "./args.ts";
import { type FileDeps, readText, treeRead } from "./file_io.ts";

const TIMEOUT_MS = 900_000;

/** The package specs a state names: `pkgs`, or `name`, plus those of `requirements`. */
async function specs(c: Chunk, deps: FileDeps): Promise<string[]> {
  const given = listArg(c, "pkgs") ?? (c.args.requirements === undefined ? [c.name] : []);
  for (const s of given) {
    if (!PIP_SPEC.test(s)) {
      throw badArg(
        c,
        c.args.pkgs === undefined ? "name" : "pkgs",
        "package names with optional versions (name>=1.0)",
      );
    }
  }
  const req = strArg(c, "requirements");
  if (req === undefined) return given;
  const text = /^(salt|zester):\/\//.test(req)
    ? await treeRead(deps, req)
    : req.startsWith("/")
    ? await readText(deps.broker, req)
    : (() => {
      throw badArg(c, "requirements", "a salt:// file or an absolute path");
    })();
  const lines = text.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "").trim()).filter(Boolean);
  for (const l of lines) {
    if (!PIP_SPEC.test(l)) {
      throw badArg(c, "requirements", `package specs only, one a line (not ${JSON.stringify(l)})`);
    }
  }
  return [...given, ...lines];
}

function binEnv(c: Chunk): string {
  const v = needStr(c, "bin_env");
  if (!v.startsWith("/")) throw badArg(c, "bin_env", "the absolute path of a virtualenv");
  return v;
}

/** The `pip` state module. */
export function pipStates(deps: FileDeps): Record<string, StateFunction> {
  const b = deps.broker;
  const call = (op: string, args: Record<string, unknown>) =>
    b.request(op, args, { timeoutMs: TIMEOUT_MS });
  return {
    async installed(c, ctx): Promise<Outcome> {
      const env = binEnv(c);
      const findLinks = listArg(c, "find_links");
      for (const d of findLinks ?? []) {
        if (!d.startsWith("/")) throw badArg(c, "find_links", "absolute paths of directories");
      }
      const req = {
        bin_env: env,
        specs: await specs(c, deps),
        find_links: findLinks,
        no_index: boolArg(c, "no_index", false),
        index_url: strArg(c, "index_url"),
        upgrade: boolArg(c, "upgrade", false),
        user: strArg(c, "user"),
      };
      const plan = await call("pip.install", { ...req, dry_run: true }) as PipPlan;
      const wanted = plan.install.filter((p) => p.requested);
      if (wanted.length === 0) {
        return {
          result: true,
          comment: req.specs.length === 1
            ? `Python package ${req.specs[0]} was already installed`
            : "All packages were already installed",
          changes: {},
        };
      }
      const changes = Object.fromEntries(
        wanted.map((p) => [`${p.name}==${p.version}`, "Installed"]),
      );
      if (ctx.test) {
        return {
          result: null,
          comment: `Python package(s) set to be installed: ${Object.keys(changes).join(", ")}`,
          changes,
        };
      }
      await call("pip.install", req);
      const { packages } = await call("pip.list", { bin_env: env, user: req.user }) as {
        packages: Record<string, string>;
      };
      const missing = wanted.filter((p) => packages[p.name] !== p.version);
      if (missing.length) {
        return {
          result: false,
          comment: `pip did not install ${
            missing.map((p) => `${p.name}==${p.version}`).join(", ")
          }`,
          changes: {},
        };
      }
      return { result: true, comment: "All packages were successfully installed", changes };
    },

    async removed(c, ctx): Promise<Outcome> {
      const env = binEnv(c);
      if (!PIP_SPEC.test(c.name) || /[\[<>=!~]/.test(c.name)) {
        throw badArg(c, "name", "a package name");
      }
      const user = strArg(c, "user");
      const { packages } = await call("pip.list", { bin_env: env, user }) as {
        packages: Record<string, string>;
      };
      if (!Object.hasOwn(packages, normalizeName(c.name))) {
        return { result: true, comment: "Package is not installed.", changes: {} };
      }
      const changes = { [c.name]: "Removed" };
      if (ctx.test) {
        return { result: null, comment: `Package ${c.name} is set to be removed`, changes };
      }
      await call("pip.uninstall", { bin_env: env, names: [c.name], user });
      return { result: true, comment: "Package was successfully removed.", changes };
    },
  };
}
