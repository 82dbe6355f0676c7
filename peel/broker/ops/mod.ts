/**
 * The closed set of operations the broker performs, by name.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { defineOp, type Op } from "./op.ts";
import { runOp } from "./run.ts";
import {
  pkgHoldOp,
  pkgInstallOp,
  pkgListOp,
  pkgManagersOp,
  pkgPurgeOp,
  pkgQueryOp,
  pkgRefreshOp,
  pkgRemoveOp,
  pkgUnholdOp,
  pkgUpgradeOp,
} from "./pkg.ts";
import { repoRemoveOp, repoSetOp } from "./repo.ts";
import {
  groupAddOp,
  groupDelOp,
  groupInfoOp,
  groupModOp,
  systemRootOp,
  userAddOp,
  userDelOp,
  userInfoOp,
  userModOp,
} from "./users.ts";
import { sshAuthReadOp, sshAuthWriteOp } from "./ssh_keys.ts";
import { sshKeyscanOp } from "./keyscan.ts";
import {
  cronReadOp,
  cronWriteOp,
  sysctlGetOp,
  sysctlSetOp,
  timezoneGetOp,
  timezoneSetOp,
} from "./system.ts";
import {
  serviceDisableOp,
  serviceEnableOp,
  serviceReloadOp,
  serviceRestartOp,
  serviceStartOp,
  serviceStatusOp,
  serviceStopOp,
} from "./service.ts";
import { sysinfoOp } from "./sysinfo.ts";
import { archiveChownOp, archiveExtractOp, archiveListOp } from "./archive.ts";
import { gitCheckoutOp, gitCloneOp, gitFetchOp, gitInfoOp, gitRemoteOp } from "./git.ts";
import { gitConfigGetOp, gitConfigSetOp, gitConfigUnsetOp } from "./git_config.ts";
import { pipInstallOp, pipListOp, pipUninstallOp } from "./pip.ts";
import { listOp } from "./list.ts";
import { backupOp } from "./backup.ts";
import {
  chmodOp,
  chownOp,
  mkdirOp,
  readOp,
  removeOp,
  renameOp,
  statOp,
  symlinkOp,
  writeOp,
} from "./file.ts";

export * from "./op.ts";
export { childEnv } from "./run.ts";
export { runFailure, type RunResult } from "./run_result.ts";
export type { Manager, PkgVersions } from "./pkg.ts";
export type { RepoResult } from "./repo.ts";
export type { GroupInfo, UserInfo } from "./users.ts";
export type { ServiceStatus } from "./service.ts";
export type { ListedMember } from "./archive.ts";
export { normalizeName, PIP_SPEC, type PipPlan } from "./pip.ts";
export { KEYSCAN_TYPES, SSH_HOST } from "./keyscan.ts";
export { gitConfigDenial, gitConfigKey } from "./git_config.ts";

/** `ping`: the broker is alive; reports its pid and that it has no network permission. */
const pingOp = defineOp({
  args: s.object({}),
  run: () =>
    Promise.resolve({
      pong: true,
      pid: Deno.pid,
      net: Deno.permissions.querySync({ name: "net" }).state,
    }),
});

/**
 * Every operation: the closed set the broker performs. `ping` and `sysinfo` (a fixed read of
 * `/proc/cpuinfo` and `df` for facts) need no policy entry; all others are checked.
 */
export const OPS: ReadonlyMap<string, Op<unknown>> = new Map([
  ["ping", pingOp],
  ["run", runOp],
  ["sysinfo", sysinfoOp],
  ["stat", statOp],
  ["read", readOp],
  ["write", writeOp],
  ["chmod", chmodOp],
  ["chown", chownOp],
  ["mkdir", mkdirOp],
  ["remove", removeOp],
  ["symlink", symlinkOp],
  ["rename", renameOp],
  ["list", listOp],
  ["backup", backupOp],
  ["pkg.query", pkgQueryOp],
  ["pkg.install", pkgInstallOp],
  ["pkg.upgrade", pkgUpgradeOp],
  ["pkg.remove", pkgRemoveOp],
  ["pkg.purge", pkgPurgeOp],
  ["pkg.managers", pkgManagersOp],
  ["pkg.list", pkgListOp],
  ["pkg.refresh", pkgRefreshOp],
  ["pkg.hold", pkgHoldOp],
  ["pkg.unhold", pkgUnholdOp],
  ["pkgrepo.set", repoSetOp],
  ["pkgrepo.remove", repoRemoveOp],
  ["user.info", userInfoOp],
  ["user.add", userAddOp],
  ["user.mod", userModOp],
  ["user.del", userDelOp],
  ["group.info", groupInfoOp],
  ["group.add", groupAddOp],
  ["group.mod", groupModOp],
  ["group.del", groupDelOp],
  ["ssh_auth.read", sshAuthReadOp],
  ["ssh_auth.write", sshAuthWriteOp],
  ["ssh.keyscan", sshKeyscanOp],
  ["cron.read", cronReadOp],
  ["cron.write", cronWriteOp],
  ["sysctl.get", sysctlGetOp],
  ["sysctl.set", sysctlSetOp],
  ["timezone.get", timezoneGetOp],
  ["timezone.set", timezoneSetOp],
  ["system.root", systemRootOp],
  ["service.start", serviceStartOp],
  ["service.stop", serviceStopOp],
  ["service.restart", serviceRestartOp],
  ["service.reload", serviceReloadOp],
  ["service.enable", serviceEnableOp],
  ["service.disable", serviceDisableOp],
  ["service.status", serviceStatusOp],
  ["archive.list", archiveListOp],
  ["archive.extract", archiveExtractOp],
  ["archive.chown", archiveChownOp],
  ["git.info", gitInfoOp],
  ["git.remote", gitRemoteOp],
  ["git.clone", gitCloneOp],
  ["git.fetch", gitFetchOp],
  ["git.checkout", gitCheckoutOp],
  ["git.config_get", gitConfigGetOp],
  ["git.config_set", gitConfigSetOp],
  ["git.config_unset", gitConfigUnsetOp],
  ["pip.list", pipListOp],
  ["pip.install", pipInstallOp],
  ["pip.uninstall", pipUninstallOp],
]);
