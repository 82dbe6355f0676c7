/**
 * The broker as the peel sees it: the client that spawns and talks to it, its launcher, and
 * the wire protocol.
 * @module
 */
export { type Broker, BrokerClient, type BrokerClientOptions, BrokerError } from "./client.ts";
export { brokerLauncherScript, defaultBrokerPaths, writeBrokerLauncher } from "./launcher.ts";
export * from "./protocol.ts";
// From each op's file, not `./ops/mod.ts`, which would load every op into the peel.
export { isPackageName } from "./ops/pkg.ts";
export { gitConfigDenial, gitConfigKey } from "./ops/git_config.ts";
export { KEYSCAN_TYPES, SSH_HOST } from "./ops/keyscan.ts";
export { normalizeName, PIP_SPEC } from "./ops/pip.ts";
export { runFailure } from "./ops/run_result.ts";
export type {
  GroupInfo,
  ListedMember,
  Manager,
  PipPlan,
  PkgVersions,
  RepoResult,
  RunResult,
  ServiceStatus,
  UserInfo,
} from "./ops/mod.ts";
