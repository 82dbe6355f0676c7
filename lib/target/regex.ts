/**
 * Regexes with Salt's meaning (Python's `re.match`): the match must start at the beginning of
 * the value and need not reach its end. Patterns are bounded in length, and values are cut at
 * {@linkcode MAX_VALUE_LENGTH}, so one target cannot stall the master for long.
 * @module
 */
import { TargetError } from "./error.ts";

/** Longest pattern accepted. */
export const MAX_PATTERN_LENGTH = 512;
/** Longest value a regex is run against. */
export const MAX_VALUE_LENGTH = 4096;

/** Compile `pattern` anchored at the start; throws {@linkcode TargetError} naming the problem. */
export function matchRegExp(
  pattern: string,
  expression: string,
  position: number,
  flags = "",
): RegExp {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new TargetError(
      expression,
      `regex longer than ${MAX_PATTERN_LENGTH} characters`,
      position,
    );
  }
  try {
    return new RegExp(`^(?:${pattern})`, flags);
  } catch (e) {
    throw new TargetError(
      expression,
      `invalid regex "${pattern}": ${
        (e as Error).message.replace(/^Invalid regular expression: /, "")
      }`,
      position,
      { cause: e },
    );
  }
}

/** Test `re` against at most {@linkcode MAX_VALUE_LENGTH} characters of `value`. */
export function testBounded(re: RegExp, value: string): boolean {
  return re.test(value.length > MAX_VALUE_LENGTH ? value.slice(0, MAX_VALUE_LENGTH) : value);
}
