/**
 * The peel's state pipeline, for the peel's `state.*` functions and `zester call --local`: a
 * state tree (a directory, or the peel's mirror of the master's), its top file, rendering,
 * compiling, planning and running states against the state modules (`peel/modules/`) through
 * the broker, and the host templates call through the broker.
 *
 * The peel itself imports `sync.ts` and `template_host.ts` alone, so that an idle peel does not
 * load templates and modules.
 * @module
 */
export {
  type ApplyOptions,
  applyStates,
  showSls,
  type StateEnv,
  treeRenderer,
  treeStateHost,
} from "./apply.ts";
export { dirTree, type StateTree } from "./tree.ts";
export { StateSync } from "./sync.ts";
export { templateHost } from "./template_host.ts";
export { topRefs } from "./top.ts";
export { stateFunctionNames } from "../modules/mod.ts";
