/**
 * Regexes with Salt's meaning (Python's `re.match`): the match must start at the beginning of
 * the value and need not reach its end. They run on V8's linear-time engine (the RegExp `l` flag,
 * which a process has when started with {@linkcode LINEAR_REGEXP_V8_FLAG}): its time grows with
 * the value's length, never exponentially, so `E@(a|a)*b` cannot stall a master. Patterns that
 * engine cannot run (backreferences, lookahead) are refused. A process started without the flag
 * (a bare `deno test`) falls back to the backtracking engine; the master refuses to start so.
 * @module
 */
import { TargetError } from "./error.ts";

/** Longest pattern accepted. */
export const MAX_PATTERN_LENGTH = 512;
/** Longest value a regex is run against. */
export const MAX_VALUE_LENGTH = 4096;

/** The V8 flag that gives RegExp its linear-time engine (`--v8-flags=…`). */
export const LINEAR_REGEXP_V8_FLAG = "--enable-experimental-regexp-engine";

/** Whether this process has the linear-time engine. */
export const hasLinearRegExp: boolean = (() => {
  try {
    new RegExp("", "l");
    return true;
  } catch {
    return false;
  }
})();

const LINEAR = hasLinearRegExp ? "l" : "";

/** Compile `pattern` anchored at the start; throws {@linkcode TargetError} naming the problem. */
export function matchRegExp(
  pattern: string,
  expression: string,
  position: number,
): RegExp {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new TargetError(
      expression,
      `regex longer than ${MAX_PATTERN_LENGTH} characters`,
      position,
    );
  }
  try {
    return new RegExp(`^(?:${pattern})`, LINEAR);
  } catch (e) {
    const why = (e as Error).message;
    throw new TargetError(
      expression,
      why.endsWith("Cannot be executed in linear time")
        ? `regex "${pattern}" cannot run in linear time (backreferences and lookahead are not supported)`
        : `invalid regex "${pattern}": ${why.replace(/^Invalid regular expression: /, "")}`,
      position,
      { cause: e },
    );
  }
}

/** Test `re` against at most {@linkcode MAX_VALUE_LENGTH} characters of `value`. */
export function testBounded(re: RegExp, value: string): boolean {
  return re.test(value.length > MAX_VALUE_LENGTH ? value.slice(0, MAX_VALUE_LENGTH) : value);
}
