/**
 * A state tree as the pipeline reads it: file texts by forward-slash relative path. Kept apart
 * from the pipeline so the peel can mirror a tree without loading templates and modules.
 * @module
 */

/** A state tree: file texts by forward-slash relative path. */
export interface StateTree {
  read(path: string): string | undefined;
}

/** A state tree in a directory. */
export function dirTree(root: string): StateTree {
  return {
    read(path) {
      if (path.split("/").includes("..")) return undefined;
      try {
        return Deno.readTextFileSync(`${root}/${path}`);
      } catch {
        return undefined;
      }
    },
  };
}

/** The files an SLS reference may live in: `a.b` → `a/b.zy`, `a/b.sls`, `a/b/init.zy`, `a/b/init.sls`. */
export function slsPaths(ref: string): string[] {
  const base = ref.replaceAll(".", "/");
  return [`${base}.zy`, `${base}.sls`, `${base}/init.zy`, `${base}/init.sls`];
}
