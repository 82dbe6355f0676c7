/**
 * The policy's globs: `*` matches any run of characters, `?` one character, `\` makes the next
 * character literal; everything else matches itself. A glob always matches a whole string.
 * @module
 */

const SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

/** Compile `glob` to an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else {
      const literal = c === "\\" && i + 1 < glob.length ? glob[++i]! : c;
      re += literal.replace(SPECIAL, "\\$&");
    }
  }
  return new RegExp(`^${re}$`, "u");
}
