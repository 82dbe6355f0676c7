/** Temp dirs for tests, removed at the end of the scope. */

/** A temp dir removed by `await using`. */
export async function tempDir(
  prefix = "zester-test-",
): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
