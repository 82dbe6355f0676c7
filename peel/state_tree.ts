/**
 * A state tree as the pipeline reads it: file texts by forward-slash relative path. Kept apart
 * from the pipeline so the peel can mirror a tree without loading templates and modules.
 * @module
 */

/** A state tree: file texts by forward-slash relative path. */
export interface StateTree {
  read(path: string): string | undefined;
  /** The files under directory `dir` (all of them for `""`), relative to it, sorted. */
  list(dir: string): string[];
}

/** A state tree in a directory. */
export function dirTree(root: string): StateTree {
  const unsafe = (path: string) => path.split("/").includes("..");
  return {
    read(path) {
      if (unsafe(path)) return undefined;
      try {
        return Deno.readTextFileSync(`${root}/${path}`);
      } catch {
        return undefined;
      }
    },
    list(dir) {
      if (unsafe(dir)) return [];
      const out: string[] = [];
      const walk = (rel: string) => {
        for (const e of Deno.readDirSync(`${root}/${dir}${rel ? `/${rel}` : ""}`)) {
          const p = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory) walk(p);
          else if (e.isFile) out.push(p);
        }
      };
      try {
        walk("");
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
      }
      return out.sort();
    },
  };
}

/** The files an SLS reference may live in: `a.b` → `a/b.zy`, `a/b.sls`, `a/b/init.zy`, `a/b/init.sls`. */
export function slsPaths(ref: string): string[] {
  const base = ref.replaceAll(".", "/");
  return [`${base}.zy`, `${base}.sls`, `${base}/init.zy`, `${base}/init.sls`];
}
