/**
 * Reading YAML as Salt does (PyYAML's safe loader with Salt's constructors): YAML 1.1 scalars
 * (`yes`/`no`/`on`/`off` are booleans, `1:20` is 80, `1_000` is 1000, but `y` and `1e3` are
 * strings), integers written with leading zeros read as decimal (`mode: 0644` is 644, which the
 * file states take as octal), timestamps kept as strings, merge keys (`<<`, several per map), a
 * key given twice an error ("found conflicting ID"), and PyYAML's leniency about the indentation
 * of flow collections continued on the next lines. Errors name the line.
 * @module
 */
import {
  isMap,
  isPair,
  isScalar,
  LineCounter,
  parseDocument,
  type ScalarTag,
  type Tags,
  visit,
} from "yaml";

/** YAML that cannot be read; `line` is 1-based where known. */
export class YamlError extends SyntaxError {
  /** What is wrong, without the line. */
  readonly reason: string;
  /** 1-based line, where known. */
  readonly line?: number;
  /** Build the error. */
  constructor(reason: string, line?: number, options?: ErrorOptions) {
    super(line ? `${reason} (line ${line})` : reason, options);
    this.name = "YamlError";
    this.reason = reason;
    this.line = line;
  }
}

const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const INT =
  /^(?:[-+]?0b[01_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

function sexagesimal(digits: string): number {
  return digits.split(":").reduce((acc, part) => acc * 60 + Number(part), 0);
}

function resolveInt(src: string): number {
  const sign = src.startsWith("-") ? -1 : 1;
  const s = src.replace(/^[-+]/, "").replaceAll("_", "");
  if (s.startsWith("0b")) return sign * parseInt(s.slice(2), 2);
  if (s.startsWith("0x")) return sign * parseInt(s.slice(2), 16);
  if (s.includes(":")) return sign * sexagesimal(s);
  // Salt reads `0644` as 644: its loader strips leading zeros before PyYAML sees an octal.
  return sign * parseInt(s, 10);
}

function resolveFloat(src: string): number {
  const s = src.replaceAll("_", "").toLowerCase();
  if (s.endsWith(".nan")) return NaN;
  if (s.endsWith(".inf")) return s.startsWith("-") ? -Infinity : Infinity;
  if (s.includes(":")) {
    const sign = s.startsWith("-") ? -1 : 1;
    const [whole, frac = ""] = s.replace(/^[-+]/, "").split(".");
    return sign * (sexagesimal(whole!) + Number(`0.${frac || "0"}`));
  }
  return Number(s);
}

/** Salt's scalar types, replacing the `yaml` package's YAML 1.1 booleans, numbers and dates. */
const SALT_SCALARS: ScalarTag[] = [
  {
    tag: "tag:yaml.org,2002:bool",
    default: true,
    test: BOOL,
    identify: (v) => typeof v === "boolean",
    resolve: (s) => /^(?:yes|true|on)$/i.test(s),
  },
  {
    tag: "tag:yaml.org,2002:int",
    default: true,
    test: INT,
    identify: (v) => Number.isInteger(v),
    resolve: resolveInt,
  },
  {
    tag: "tag:yaml.org,2002:float",
    default: true,
    test: FLOAT,
    identify: (v) => typeof v === "number",
    resolve: resolveFloat,
  },
];

const REPLACED = new Set([
  "tag:yaml.org,2002:bool",
  "tag:yaml.org,2002:int",
  "tag:yaml.org,2002:float",
  "tag:yaml.org,2002:timestamp",
]);

function saltTags(tags: Tags): Tags {
  return [
    ...tags.filter((t) => typeof t !== "string" && !REPLACED.has(t.tag)),
    ...SALT_SCALARS,
  ];
}

/** The type PyYAML (with Salt's loader) would read a plain scalar `s` as. */
export function implicitType(s: string): "null" | "bool" | "int" | "float" | "str" {
  if (s === "" || s === "~" || /^(?:null|Null|NULL)$/.test(s)) return "null";
  if (BOOL.test(s)) return "bool";
  if (INT.test(s)) return "int";
  if (FLOAT.test(s)) return "float";
  return "str";
}

/**
 * Indent the continuation lines of flow collections (`key: {a: 1,` then `b: 2}` on the next line,
 * less indented) as far as the YAML spec wants; PyYAML ignores indentation inside flow
 * collections. Only leading spaces are added, so lines keep their numbers.
 */
function reindentFlow(text: string): string {
  const lines = text.split("\n");
  let depth = 0;
  let need = 0;
  let quote: string | undefined;
  let blockScalar = -1;
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    const indent = line.length - line.trimStart().length;
    if (blockScalar >= 0) {
      if (line.trim() === "" || indent > blockScalar) continue;
      blockScalar = -1;
    }
    if ((depth > 0 || quote) && indent < need && line.trim() !== "") {
      line = " ".repeat(need - indent) + line;
      lines[n] = line;
    }
    let i = line.length - line.trimStart().length;
    let nodeStart = depth === 0 && !quote;
    while (i < line.length) {
      const c = line[i]!;
      if (quote) {
        if (c === "\\" && quote === '"') i++;
        else if (c === quote) {
          if (quote === "'" && line[i + 1] === "'") i++;
          else quote = undefined;
        }
        i++;
        continue;
      }
      if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) break;
      if (depth > 0) {
        if (c === '"' || c === "'") quote = c;
        else if (c === "[" || c === "{") depth++;
        else if (c === "]" || c === "}") depth--;
        i++;
        continue;
      }
      if (nodeStart) {
        if (c === " ") {
          i++;
          continue;
        }
        if (c === "-" && (line[i + 1] === " " || i + 1 === line.length)) {
          i += 2;
          continue;
        }
        if (c === "[" || c === "{") {
          depth = 1;
          need = i;
          i++;
          continue;
        }
        if (c === '"' || c === "'") {
          quote = c;
          need = i;
          nodeStart = false;
          i++;
          continue;
        }
        if (c === "|" || c === ">") {
          blockScalar = indent;
          break;
        }
        nodeStart = false;
      }
      // A plain key: its value starts after ": ".
      if (c === ":" && (line[i + 1] === " " || i + 1 === line.length)) nodeStart = true;
      i++;
    }
  }
  return lines.join("\n");
}

/** A parsed YAML document: its value, and the line of each top-level key. */
export interface YamlDocument {
  value: unknown;
  /** 1-based line of each key of the top-level mapping. */
  lines: Map<string, number>;
}

/** Parse `text` as Salt parses YAML; throws {@linkcode YamlError} naming the line. */
export function parseYaml(text: string): YamlDocument {
  const lc = new LineCounter();
  const doc = parseDocument(reindentFlow(text), {
    version: "1.1",
    customTags: saltTags,
    merge: true,
    uniqueKeys: false,
    lineCounter: lc,
    prettyErrors: true,
  });
  const line = (offset: number | undefined) =>
    offset === undefined ? undefined : lc.linePos(offset).line;
  const err = doc.errors[0];
  if (err) {
    throw new YamlError(
      err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, ""),
      err.linePos?.[0]?.line,
      { cause: err },
    );
  }
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        // Merge keys (`<<`, which the parser marks with a symbol) may repeat.
        if (!isScalar(pair.key) || typeof pair.key.value === "symbol") continue;
        // Keys as Python prints them: `True:` and `~:` are the keys True and None.
        const k = pair.key.value;
        if (typeof k === "boolean" || k === null) {
          pair.key.value = k === null ? "None" : k ? "True" : "False";
        }
        const key = String(pair.key.value);
        if (seen.has(key)) {
          throw new YamlError(`found conflicting ID '${key}'`, line(pair.key.range?.[0]));
        }
        seen.add(key);
      }
    },
  });
  const lines = new Map<string, number>();
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      if (isPair(pair) && isScalar(pair.key) && pair.key.range) {
        lines.set(String(pair.key.value), line(pair.key.range[0])!);
      }
    }
  }
  return { value: doc.toJS({ maxAliasCount: 10_000 }) ?? null, lines };
}

/** Parse `text` as Salt parses YAML (an empty document is None). */
export function loadYaml(text: string): unknown {
  return parseYaml(text).value;
}
