/**
 * The broker as the peel sees it: the client that spawns and talks to it, its launcher, and
 * the wire protocol.
 * @module
 */
export { type Broker, BrokerClient, type BrokerClientOptions, BrokerError } from "./client.ts";
export { brokerLauncherScript, defaultBrokerPaths, writeBrokerLauncher } from "./launcher.ts";
export * from "./protocol.ts";
export { isPackageName } from "./ops/pkg.ts";
export {
  gitConfigDenial,
  gitConfigKey,
  KEYSCAN_TYPES,
  normalizeName,
  PIP_SPEC,
  runFailure,
  SSH_HOST,
} from "./ops/mod.ts";
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
