/**
 * The signatures of the execution functions peels answer, so that a job with too many or too
 * few positional arguments is refused before it reaches any peel, naming the signature, as
 * Salt's "takes 1 positional argument but 2 were given" does. A function not listed here (a
 * state function called directly, such as `file.touch`) is checked by the peel that runs it.
 * @module
 */

/** A function's parameters: those it requires, then those with defaults. */
interface Signature {
  required: readonly string[];
  optional: readonly string[];
  /** Takes keyword arguments beyond its parameters (`**kwargs`). */
  kwargs?: boolean;
}

const none: Signature = { required: [], optional: [] };
const facts = { required: ["key"], optional: ["default"] };
const cmd = { required: ["cmd"], optional: [], kwargs: true };
const addrs = { required: [], optional: ["interface", "include_loopback", "cidr", "type"] };
const pillarGet = {
  required: ["key"],
  optional: ["default", "merge", "merge_nested_lists", "delimiter"],
};
const sls = { required: [], optional: ["mods"], kwargs: true };

/** Every execution function's signature, by name. */
export const SIGNATURES: ReadonlyMap<string, Signature> = new Map([
  ["test.ping", none],
  ["test.echo", { required: ["text"], optional: [] }],
  ["test.sleep", { required: ["length"], optional: [] }],
  ["test.version", none],
  ["facts.items", none],
  ["facts.get", facts],
  ["facts.keys", none],
  ["grains.items", none],
  ["grains.get", facts],
  ["grains.ls", none],
  ["network.ip_addrs", addrs],
  ["network.ip_addrs6", addrs],
  ...["mine", "basket"].flatMap((m): [string, Signature][] => [
    [`${m}.get`, { required: ["tgt", "fun"], optional: ["tgt_type", "exclude_minion"] }],
    [`${m}.update`, none],
    [`${m}.delete`, { required: ["fun"], optional: [] }],
    [`${m}.flush`, none],
  ]),
  ["settings.items", none],
  ["settings.get", pillarGet],
  ["settings.keys", { required: [], optional: ["key"] }],
  ["settings.refresh", none],
  ["pillar.items", none],
  ["pillar.get", pillarGet],
  ["pillar.keys", { required: ["key"], optional: [] }],
  ["pillar.ls", none],
  ["pillar.raw", { required: [], optional: ["key"] }],
  ["saltutil.refresh_pillar", none],
  ["cmd.run", cmd],
  ["cmd.run_all", cmd],
  ["schedule.list", none],
  ["schedule.enable", none],
  ["schedule.disable", none],
  ["schedule.enable_job", { required: ["name"], optional: [] }],
  ["schedule.disable_job", { required: ["name"], optional: [] }],
  ["schedule.run_job", { required: ["name"], optional: ["force"] }],
  ["state.apply", sls],
  ["state.sls", sls],
  ["state.highstate", { required: [], optional: [], kwargs: true }],
  ["state.show_sls", { required: ["mods"], optional: [], kwargs: true }],
]);

/** How `fun` is called, e.g. `facts.get(key, default=None)`. */
export function usage(fun: string, sig: Signature): string {
  const params = [
    ...sig.required,
    ...sig.optional.map((p) => `${p}=None`),
    ...(sig.kwargs ? ["**kwargs"] : []),
  ];
  return `${fun}(${params.join(", ")})`;
}

/** Throws `TypeError` naming the signature when `args` and `kwargs` do not fit `fun`'s. */
export function checkArguments(
  fun: string,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
): void {
  const sig = SIGNATURES.get(fun);
  if (!sig) return;
  const most = sig.required.length + sig.optional.length;
  const fail = (why: string) => {
    throw new TypeError(`Invalid arguments to ${fun}: ${why}; usage: ${usage(fun, sig)}`);
  };
  if (args.length > most) {
    const takes = most === 0
      ? "takes no positional arguments"
      : `takes ${most === sig.required.length ? "" : "at most "}${most} positional argument${
        most === 1 ? "" : "s"
      }`;
    fail(`it ${takes} but ${args.length} ${args.length === 1 ? "was" : "were"} given`);
  }
  const missing = sig.required.slice(args.length).filter((p) => !(p in kwargs));
  if (missing.length) fail(`missing ${missing.map((p) => `"${p}"`).join(", ")}`);
  if (!sig.kwargs) {
    const known = new Set([...sig.required, ...sig.optional]);
    const extra = Object.keys(kwargs).filter((k) => !known.has(k));
    if (extra.length) fail(`unexpected keyword ${extra.map((k) => `"${k}"`).join(", ")}`);
  }
}
