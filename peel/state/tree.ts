/**
 * A state tree as the pipeline reads it: file texts by forward-slash relative path. Kept apart
 * from the pipeline so the peel can mirror a tree without loading templates and modules.
 * @module
 */

/** A state tree: file texts by forward-slash relative path. */
export interface StateTree {
  /** One file's text, or undefined when there is none. */
  read(path: string): string | undefined;
  /** One file's bytes (an archive, a wheel), or undefined when there is none. */
  bytes(path: string): Uint8Array | undefined;
  /** Every text file, by path: what templates can import and include. */
  files(): Map<string, string>;
  /** The files under directory `dir` (all of them for `""`), relative to it, sorted. */
  list(dir: string): string[];
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

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
    bytes(path) {
      if (unsafe(path)) return undefined;
      try {
        return Deno.readFileSync(`${root}/${path}`);
      } catch {
        return undefined;
      }
    },
    files() {
      const out = new Map<string, string>();
      const walk = (rel: string) => {
        for (const e of Deno.readDirSync(rel ? `${root}/${rel}` : root)) {
          const path = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory) walk(path);
          else if (e.isFile) {
            try {
              out.set(path, UTF8.decode(Deno.readFileSync(`${root}/${path}`)));
            } catch { /* not text: no template */ }
          }
        }
      };
      walk("");
      return out;
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
