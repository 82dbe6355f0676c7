/**
 * Custom facts: a YAML mapping (default `/etc/zester/facts`, like Salt's `/etc/salt/grains`)
 * merged at the root of the peel's facts.
 * @module
 */
import { parseDocument } from "yaml";
import { isPlainObject } from "../../lib/schema/mod.ts";

/** Read the custom facts file: missing is `{}`; bad YAML is a `SyntaxError` naming file:line:col. */
export async function readCustomFacts(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const msg = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new SyntaxError(
      `Cannot parse custom facts "${path}${pos ? `:${pos.line}:${pos.col}` : ""}": ${msg}`,
      { cause: err },
    );
  }
  const value = doc.toJS() ?? {};
  if (!isPlainObject(value)) {
    throw new TypeError(`Invalid custom facts "${path}": expected a mapping at the root`);
  }
  return value;
}
