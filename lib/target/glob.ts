/**
 * Shell-style globs with the meaning of Python's `fnmatch.fnmatchcase`, as Salt matches peel ids:
 * `*` any run of characters, `?` one character, `[seq]` one of, `[!seq]` none of. Case-sensitive.
 * @module
 */
import { TargetError } from "./error.ts";

/** One element of a glob: a `*`, or a test of one character. */
type Token = "*" | ((c: string) => boolean);

function tokenize(glob: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (tokens.at(-1) !== "*") tokens.push("*");
    } else if (c === "?") {
      tokens.push(() => true);
    } else if (c === "[") {
      let j = i + 1;
      if (glob[j] === "!") j++;
      if (glob[j] === "]") j++;
      while (j < glob.length && glob[j] !== "]") j++;
      if (j >= glob.length) {
        // Python treats an unclosed "[" as a literal character.
        tokens.push((x) => x === "[");
        continue;
      }
      let body = glob.slice(i + 1, j);
      let negate = false;
      if (body.startsWith("!")) {
        negate = true;
        body = body.slice(1);
      }
      body = body.replace(/[\\\]^]/g, "\\$&");
      let re: RegExp;
      try {
        // One character class against one character: nothing to backtrack over.
        re = new RegExp(`^[${negate ? "^" : ""}${body}]$`, "s");
      } catch (e) {
        throw new TargetError(glob, `invalid glob (${(e as Error).message})`, undefined, {
          cause: e,
        });
      }
      tokens.push((x) => re.test(x));
      i = j;
    } else {
      tokens.push((x) => x === c);
    }
  }
  return tokens;
}

/**
 * Compile a glob into a test of whole strings; throws {@linkcode TargetError} when malformed.
 * Matching backtracks only to the last `*`, so it takes at most length × pattern steps:
 * `*a*a*a*a*a*b` cannot stall it the way it stalls a backtracking regex.
 */
export function compileGlob(glob: string): (value: string) => boolean {
  const tokens = tokenize(glob);
  return (value) => {
    let t = 0;
    let v = 0;
    let star = -1;
    let resume = 0;
    while (v < value.length) {
      const token = tokens[t];
      if (token === "*") {
        star = t++;
        resume = v;
      } else if (token !== undefined && token(value[v]!)) {
        t++;
        v++;
      } else if (star >= 0) {
        t = star + 1;
        v = ++resume;
      } else {
        return false;
      }
    }
    while (tokens[t] === "*") t++;
    return t === tokens.length;
  };
}

/** True when `glob` has no wildcard, so it names exactly one id. */
export function isLiteralGlob(glob: string): boolean {
  return !/[*?[]/.test(glob);
}
