/**
 * The state system: parsing SLS files, compiling them into states, planning requisites into a
 * DAG, and running the plan against state modules the host provides.
 * @module
 */
export * from "./types.ts";
export { parseRefs, parseSls, parseStateYaml, type SlsFile } from "./sls.ts";
export { compile, loadTree, resolveInclude, type SlsLoader } from "./compile.ts";
export { slsPaths, slsRef } from "./sls_path.ts";
export { type TopRef, topRefsFor } from "./top.ts";
export { type Plan, plan } from "./plan.ts";
export * from "./run.ts";
