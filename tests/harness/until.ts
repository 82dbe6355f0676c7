/** Polling for what other processes bring about. */

/** A check's "not yet": `undefined` or `false`; anything else is the awaited value. */
type Pending = undefined | false;

/**
 * Call `check` every 100 ms until it gives something other than `undefined` or `false`, and
 * return that; a throw counts as "not yet". After `ms` it throws, naming `what` and the last
 * error.
 */
export async function until<T>(
  what: string,
  check: () => T | Pending | Promise<T | Pending>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: Error | undefined;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e as Error;
    }
    if (Date.now() > end) {
      const why = last ? `: ${last.message}` : "";
      throw new Error(`Timed out after ${ms} ms waiting for ${what}${why}`, { cause: last });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Call `fn` until it does not throw (a server starting, a cluster electing) and return its result. */
export async function retry<T>(what: string, fn: () => Promise<T>, ms = 30_000): Promise<T> {
  return (await until(what, async () => ({ value: await fn() }), ms)).value;
}
