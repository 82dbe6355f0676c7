/**
 * `test.*` states: fixed outcomes for trying requisites and runs (`test.nop`,
 * `test.succeed_with_changes`, `test.fail_without_changes`, `test.configurable_test_state`…).
 * @module
 */
import type { Outcome, StateFunction } from "../../lib/state/mod.ts";

const changed = { testing: { old: "Unchanged", new: "Something pretended to change" } };

function outcome(result: boolean, withChanges: boolean, test: boolean, comment: string): Outcome {
  if (test && result && withChanges) {
    return { result: null, comment: `Would: ${comment}`, changes: changed };
  }
  return { result, comment, changes: withChanges ? changed : {} };
}

/** The `test` state module. */
export const testStates: Record<string, StateFunction> = {
  nop: () => Promise.resolve({ result: true, comment: "Success!", changes: {} }),
  succeed_without_changes: (_c, ctx) => Promise.resolve(outcome(true, false, ctx.test, "Success!")),
  succeed_with_changes: (_c, ctx) => Promise.resolve(outcome(true, true, ctx.test, "Success!")),
  fail_without_changes: (_c, ctx) => Promise.resolve(outcome(false, false, ctx.test, "Failure!")),
  fail_with_changes: (_c, ctx) => Promise.resolve(outcome(false, true, ctx.test, "Failure!")),
  configurable_test_state: (c, ctx) => {
    const result = c.args.result === undefined
      ? true
      : c.args.result === true || c.args.result === "True";
    const withChanges = c.args.changes === undefined
      ? true
      : c.args.changes === true || c.args.changes === "True";
    return Promise.resolve(outcome(result, withChanges, ctx.test, String(c.args.comment ?? "")));
  },
};
