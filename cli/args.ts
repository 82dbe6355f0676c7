/**
 * Function arguments from the command line, read as Salt reads them: `key=value` words are
 * keyword arguments, the rest positional, and each value is typed the way an operator means it
 * (`true`/`True` a boolean, `42` a number, `[1, 2]` or `{a: 1}` YAML, anything else a string).
 * Strings with leading zeros (`0644`) stay strings, so file modes survive.
 * @module
 */
import { parse } from "yaml";

const KWARG = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

/** Type one command-line value. */
export function typedValue(text: string): unknown {
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^(null|None|~)$/.test(text)) return null;
  if (/^-?(0|[1-9]\d*)$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  if (/^-?(0|[1-9]\d*)\.\d+$/.test(text)) return Number(text);
  if (/^[[{]/.test(text)) {
    try {
      return parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** Split words into positional and keyword arguments. */
export function parseFunctionArgs(words: string[]): {
  args: unknown[];
  kwargs: Record<string, unknown>;
} {
  const args: unknown[] = [];
  const kwargs: Record<string, unknown> = {};
  for (const w of words) {
    const m = KWARG.exec(w);
    if (m) kwargs[m[1]!] = typedValue(m[2]!);
    else args.push(typedValue(w));
  }
  return { args, kwargs };
}
