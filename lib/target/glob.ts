/**
 * Shell-style globs with the meaning of Python's `fnmatch.fnmatchcase`, as Salt matches peel ids:
 * `*` any run of characters, `?` one character, `[seq]` one of, `[!seq]` none of. Case-sensitive.
 * @module
 */
import { TargetError } from "./error.ts";

/** Translate a glob into an anchored `RegExp`; throws {@linkcode TargetError} when malformed. */
export function globToRegExp(glob: string, flags = ""): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      re += ".*";
    } else if (c === "?") {
      re += ".";
    } else if (c === "[") {
      let j = i + 1;
      if (glob[j] === "!") j++;
      if (glob[j] === "]") j++;
      while (j < glob.length && glob[j] !== "]") j++;
      if (j >= glob.length) {
        // Python treats an unclosed "[" as a literal character.
        re += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, j);
      let negate = false;
      if (body.startsWith("!")) {
        negate = true;
        body = body.slice(1);
      }
      body = body.replace(/[\\\]^]/g, "\\$&");
      re += `[${negate ? "^" : ""}${body}]`;
      i = j;
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  try {
    return new RegExp(`^(?:${re})$`, `s${flags}`);
  } catch (e) {
    throw new TargetError(glob, `invalid glob (${(e as Error).message})`, undefined, { cause: e });
  }
}

/** True when `glob` has no wildcard, so it names exactly one id. */
export function isLiteralGlob(glob: string): boolean {
  return !/[*?[]/.test(glob);
}
