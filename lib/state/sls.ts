/**
 * Reading one rendered SLS file (YAML, as Salt reads it: `lib/yaml`) into declarations:
 * `include`, `extend`, and each state id's module functions with their arguments, accepting
 * Salt's short forms (`pkg.installed: []`, `pkg: [installed, {name: x}]`, arguments as a list of
 * one-key maps, `extend` by module name without the function). Errors name the file and the line
 * of the state.
 * @module
 */
import { isPlainObject } from "../schema/mod.ts";
import { parseYaml, YamlError } from "../yaml/mod.ts";
import { REQUISITES, StateError, type StateRef } from "./types.ts";

/** One `module.function` of a state id, with raw arguments. */
export interface Declaration {
  id: string;
  module: string;
  /** The function; an `extend` may leave it out (it extends the id's state of that module). */
  fun: string;
  args: Record<string, unknown>;
  line?: number;
}

/** A parsed SLS file. */
export interface SlsFile {
  ref: string;
  file: string;
  include: string[];
  extend: Declaration[];
  states: Declaration[];
}

const REQ_KEYS = new Set(REQUISITES.flatMap((r) => [r, `${r}_in`, `${r}_any`]));
const FUNCTION = /^[a-z_][a-z0-9_]*$/;

/** Turn `- key: value` lists (Salt's argument form) into one map. */
function argsOf(list: unknown[], id: string, where: { file: string; line?: number }) {
  let fun: string | undefined;
  const args: Record<string, unknown> = {};
  for (const item of list) {
    if (typeof item === "string") {
      if (fun !== undefined) {
        throw new StateError(`State "${id}" names two functions: "${fun}" and "${item}"`, where);
      }
      fun = item;
    } else if (isPlainObject(item) && Object.keys(item).length === 1) {
      const [k, v] = Object.entries(item)[0]!;
      args[k] = v;
    } else {
      throw new StateError(
        `State "${id}": each argument must be a one-key map such as "- name: value"`,
        where,
      );
    }
  }
  return { fun, args };
}

function declarations(
  id: string,
  body: unknown,
  where: { file: string; line?: number },
  extend = false,
): Declaration[] {
  if (!isPlainObject(body)) {
    throw new StateError(`State "${id}" must map module functions to arguments`, where);
  }
  const out: Declaration[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith("__")) continue;
    const dot = key.indexOf(".");
    let module = dot < 0 ? key : key.slice(0, dot);
    let fun = dot < 0 ? undefined : key.slice(dot + 1);
    const list = value === null || value === undefined ? [] : value;
    if (!Array.isArray(list)) {
      throw new StateError(
        `State "${id}": arguments of "${key}" must be a list such as "- name: value"`,
        where,
      );
    }
    const parsed = argsOf(list, id, where);
    if (parsed.fun !== undefined) {
      if (fun !== undefined) {
        throw new StateError(
          `State "${id}" names two functions: "${key}" and "${parsed.fun}"`,
          where,
        );
      }
      fun = parsed.fun;
    }
    if (!fun && !extend) {
      throw new StateError(`State "${id}": no function given for module "${module}"`, where);
    }
    fun ??= "";
    if (!FUNCTION.test(module) || (fun !== "" && !FUNCTION.test(fun))) {
      throw new StateError(`State "${id}": "${module}.${fun}" is not a state function name`, where);
    }
    module = module.toLowerCase();
    for (const k of Object.keys(parsed.args)) {
      // An empty requisite (`- require:` over a loop that made nothing) requires nothing.
      if (REQ_KEYS.has(k) && parsed.args[k] === null) delete parsed.args[k];
      else if (REQ_KEYS.has(k) && !Array.isArray(parsed.args[k])) {
        throw new StateError(
          `The ${k} statement in state "${id}" needs to be formed as a list`,
          where,
        );
      }
    }
    out.push({ id, module, fun, args: parsed.args, line: where.line });
  }
  return out;
}

/** Parse the YAML `text` of state-tree file `file`; a syntax error is a StateError naming it. */
export function parseStateYaml(text: string, file: string): ReturnType<typeof parseYaml> {
  try {
    return parseYaml(text);
  } catch (e) {
    if (!(e instanceof YamlError)) throw e;
    throw new StateError(`Cannot parse YAML: ${e.reason}`, { file, line: e.line }, { cause: e });
  }
}

/** Parse rendered YAML `text` of SLS `ref` (read from `file`). */
export function parseSls(text: string, ref: string, file: string): SlsFile {
  const doc = parseStateYaml(text, file);
  const { lines } = doc;
  const data = doc.value ?? {};
  if (!isPlainObject(data)) {
    throw new StateError("An SLS file must be a mapping", { file, line: 1 });
  }
  const out: SlsFile = { ref, file, include: [], extend: [], states: [] };
  for (const [key, body] of Object.entries(data)) {
    const where = { file, line: lines.get(key) };
    if (key === "include") {
      const list = Array.isArray(body) ? body : [body];
      for (const inc of list) {
        if (typeof inc === "string") out.include.push(inc);
        else if (isPlainObject(inc)) out.include.push(...Object.keys(inc));
        else {throw new StateError(
            `include: expected SLS references, got ${JSON.stringify(inc)}`,
            where,
          );}
      }
    } else if (key === "extend") {
      if (!isPlainObject(body)) {
        throw new StateError("extend: expected a mapping of state ids", where);
      }
      for (const [id, decl] of Object.entries(body)) {
        out.extend.push(...declarations(id, decl, where, true));
      }
    } else {
      out.states.push(...declarations(key, body, where));
    }
  }
  return out;
}

/**
 * Read requisite entries: Salt style (`- pkg: nginx`, `- sls: web`) or Zester style
 * (`- pkg.installed:nginx`, or a bare id).
 */
export function parseRefs(list: unknown[], id: string, kind: string): StateRef[] {
  return list.map((item) => {
    if (typeof item === "string") {
      const m = /^([a-z_][a-z0-9_]*)(?:\.[a-z_][a-z0-9_]*)?:(.+)$/.exec(item);
      return m ? { module: m[1]!, target: m[2]! } : { module: "*", target: item };
    }
    if (isPlainObject(item) && Object.keys(item).length === 1) {
      const [module, target] = Object.entries(item)[0]!;
      return { module: module.split(".")[0]!, target: String(target) };
    }
    throw new StateError(`State "${id}": ${kind} entry ${JSON.stringify(item)} is not a reference`);
  });
}
