/**
 * Where SLS references live in a tree (`a.b` → `a/b.zy`, `a/b.sls`, `a/b/init.zy`,
 * `a/b/init.sls`), for state and settings trees alike.
 * @module
 */

/** The files an SLS reference may live in: `a.b` → `a/b.zy`, `a/b.sls`, `a/b/init.zy`, `a/b/init.sls`. */
export function slsPaths(ref: string): string[] {
  const base = ref.replaceAll(".", "/");
  return [`${base}.zy`, `${base}.sls`, `${base}/init.zy`, `${base}/init.sls`];
}

/** The SLS reference of file `path` (`a/b/init.zy` → `a.b`), or undefined for other files. */
export function slsRef(path: string): string | undefined {
  const m = /^(.+?)(\/init)?\.(zy|sls)$/.exec(path);
  if (!m || m[1]!.includes(".")) return undefined;
  return m[1]!.replaceAll("/", ".");
}
