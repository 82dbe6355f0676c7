/**
 * The tags Salt adds to Jinja: `{% do expr %}`; `{% import_yaml "f.yaml" as x %}` (also
 * `import_json`, `import_text`), which renders the file as a template and loads the result; and
 * `{% load_yaml as x %}…{% endload %}` (also `load_json`, `load_text`), which loads the rendered
 * block. Like Salt's, the variables they set are exported to `{% from … import x %}`. An error in
 * an imported file's YAML names that file and line.
 * @module
 */
import { loadYaml, YamlError } from "../yaml/mod.ts";
import { loadJsonFilter, loadYamlFilter } from "./filters.ts";
import { trust } from "./safe_lookup.ts";
import { TemplateError } from "./template_error.ts";

/** The parts of nunjucks's parser API the tags use. */
interface TagParser {
  nextToken(): { value: string; lineno: number; colno: number };
  parseSignature(name: null, tolerant: boolean): unknown;
  parseExpression(): unknown;
  parsePrimary(): unknown;
  skipSymbol(name: string): boolean;
  advanceAfterBlockEnd(name?: string): void;
  parseUntilBlocks(...names: string[]): unknown;
  fail(message: string, lineno?: number, colno?: number): never;
}

// deno-lint-ignore no-explicit-any
type Nodes = Record<string, new (...args: any[]) => unknown>;

/** Jinja's `{% do expr %}`: evaluate for its side effect (e.g. `dict.update`), print nothing. */
export class DoExtension {
  tags = ["do"];
  parse(parser: TagParser, nodes: Nodes) {
    const tok = parser.nextToken();
    const args = parser.parseSignature(null, true);
    parser.advanceAfterBlockEnd(tok.value);
    return new nodes.CallExtension!(this, "run", args);
  }
  run(): string {
    return "";
  }
}

/** The global the tags call: `__salt_import(kind, name)` and `__salt_load(kind, text)`. */
const IMPORT = "__salt_import";
const LOAD = "__salt_load";

/** Salt's `import_*` and `load_*` tags. */
export class SaltDataTags {
  tags = ["import_yaml", "import_json", "import_text", "load_yaml", "load_json", "load_text"];

  parse(parser: TagParser, nodes: Nodes) {
    const tok = parser.nextToken();
    const [verb, kind] = tok.value.split("_") as ["import" | "load", string];
    const at = [tok.lineno, tok.colno] as const;
    const call = (fn: string, arg: unknown) =>
      new nodes.FunCall!(
        ...at,
        new nodes.Symbol!(...at, fn),
        new nodes.NodeList!(...at, [new nodes.Literal!(...at, kind), arg]),
      );
    if (verb === "import") {
      const name = parser.parseExpression();
      if (!parser.skipSymbol("as")) parser.fail(`${tok.value}: expected "as"`, ...at);
      const target = parser.parsePrimary();
      parser.advanceAfterBlockEnd(tok.value);
      return new nodes.Set!(...at, [target], call(IMPORT, name));
    }
    if (!parser.skipSymbol("as")) parser.fail(`${tok.value}: expected "as"`, ...at);
    const target = parser.parsePrimary();
    parser.advanceAfterBlockEnd(tok.value);
    const body = parser.parseUntilBlocks("endload");
    parser.advanceAfterBlockEnd();
    return new nodes.Set!(...at, [target], call(LOAD, new nodes.Capture!(...at, body)));
  }
}

/** What the tag globals need of the nunjucks context they are called in. */
interface CallContext {
  env: { getTemplate(name: string, eager: boolean): { render(ctx: object): string } };
  lookup(name: string): unknown;
}

function parse(kind: string, text: string): unknown {
  if (kind === "yaml") return loadYamlFilter(text);
  if (kind === "json") return loadJsonFilter(text);
  return text;
}

/** Join a `./` or `../` template name to `dir`, as Salt resolves it from the template's dir. */
export function resolveName(name: string, dir: string): string {
  if (!/^\.\.?\//.test(name)) return name.replace(/^salt:\/\//, "");
  const out: string[] = dir === "." || dir === "" ? [] : dir.split("/");
  for (const part of name.split("/")) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return out.join("/");
}

/** The globals the tags compile to calls of. */
export const SALT_TAG_GLOBALS: Record<string, unknown> = {
  [IMPORT]: trust(function (this: CallContext, kind: string, name: unknown) {
    const file = resolveName(String(name), String(this.lookup("tpldir") ?? ""));
    const text = this.env.getTemplate(file, false).render({});
    if (kind !== "yaml") return parse(kind, text);
    try {
      return loadYaml(text);
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      throw new TemplateError(`Cannot parse YAML: ${e.reason}`, file, e.line, { cause: e });
    }
  }),
  [LOAD]: trust((kind: string, text: unknown) => parse(kind, String(text))),
};
