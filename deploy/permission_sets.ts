/**
 * `deno task permission-sets [--write]`: the `deno.json` permission sets of the four entry
 * points (`master`, `peel`, `broker`, `cli`), of `zester init` (`init`) and of `zester backup` (`backup`), generated from `lib/config/permissions.ts` for the
 * default install paths and a NATS server on `127.0.0.1:4222`, so the sets and the flags the
 * daemons get from their configs cannot drift apart. `--write` updates `deno.json`; without it
 * the task prints the sets and exits 1 when `deno.json` differs (a test checks the same).
 * @module
 */
import {
  backupPermissionFlags,
  brokerPermissionFlags,
  CliConfig,
  cliPermissionFlags,
  initPermissionFlags,
  MASTER_CONFIG_PATH,
  MasterConfig,
  masterPermissionFlags,
  PEEL_CONFIG_PATH,
  PeelConfig,
  peelPermissionFlags,
} from "../lib/config/mod.ts";

const DENO_JSON = new URL("../deno.json", import.meta.url);
const DEFAULT_NATS = "nats://127.0.0.1:4222";
/** Where `deno task init` may write: the documented deployment directory. */
const DEFAULT_DEPLOYMENT_DIR = "/etc/zester";
/** Where `deno task backup create` may write. */
export const DEFAULT_BACKUP_DIR = "/var/backups/zester";

/** A `deno.json` permission set: each permission granted wholly or for the listed values. */
export type PermissionSet = Record<string, true | string[]>;

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * The permission set that `flags` (`--allow-x` / `--allow-x=a,b`) describe. Paths inside this
 * checkout (the template worker's modules) are written relative to `deno.json`, as Deno reads
 * them there.
 */
export function setOfFlags(flags: readonly string[]): PermissionSet {
  const set: PermissionSet = {};
  for (const f of flags) {
    const m = /^--allow-([a-z-]+)(?:=(.*))?$/.exec(f);
    if (!m) continue;
    set[m[1]!] = m[2] === undefined
      ? true
      : m[2].split(",").map((v) => v.startsWith(ROOT) ? `./${v.slice(ROOT.length)}` : v);
  }
  return set;
}

/** The sets of the entry points and of `zester init` for the default install. */
export function permissionSets(): Record<string, PermissionSet> {
  const master = MasterConfig.parse({ nats_url: DEFAULT_NATS });
  const peel = PeelConfig.parse({ id: "peel", nats_url: DEFAULT_NATS });
  return {
    master: setOfFlags(masterPermissionFlags(master, MASTER_CONFIG_PATH)),
    peel: setOfFlags(peelPermissionFlags(peel, PEEL_CONFIG_PATH)),
    broker: setOfFlags(brokerPermissionFlags()),
    cli: setOfFlags(cliPermissionFlags(CliConfig.parse({}))),
    init: setOfFlags(initPermissionFlags(DEFAULT_DEPLOYMENT_DIR)),
    backup: setOfFlags(backupPermissionFlags(CliConfig.parse({}), DEFAULT_BACKUP_DIR)),
  };
}

/** The sets as `deno.json` has them now. */
export async function currentSets(): Promise<Record<string, unknown>> {
  const json = JSON.parse(await Deno.readTextFile(DENO_JSON));
  const all = json.permissions as Record<string, unknown>;
  return Object.fromEntries(Object.keys(permissionSets()).map((k) => [k, all[k]]));
}

if (import.meta.main) {
  const sets = permissionSets();
  const json = JSON.parse(await Deno.readTextFile(DENO_JSON));
  const same = JSON.stringify(await currentSets()) === JSON.stringify(sets);
  if (Deno.args.includes("--write")) {
    json.permissions = { ...json.permissions, ...sets };
    await Deno.writeTextFile(DENO_JSON, JSON.stringify(json, null, 2) + "\n");
    console.log(same ? "deno.json already up to date" : "deno.json permission sets updated");
  } else {
    console.log(JSON.stringify(sets, null, 2));
    if (!same) {
      console.error("deno.json differs: run deno task permission-sets --write");
      Deno.exitCode = 1;
    }
  }
}
