/**
 * The output formats: text for people (Salt's `nested` and `highstate` outputters, which this
 * text follows), `txt` (one line per peel), JSON and YAML for programs, and `raw` (Python's
 * repr, as Salt's raw outputter prints).
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { stringify } from "yaml";

/** Output formats the CLI prints. */
export const FORMATS = ["text", "json", "yaml", "txt", "raw"] as const;
/** One of {@linkcode FORMATS}. */
export type Format = typeof FORMATS[number];

/** Every name `--format` and `--out` accept, Salt's outputter names included. */
export const FORMAT_NAMES = [...FORMATS, "nested", "highstate"] as const;

/** The format named `name` (a commander argument parser). */
export function parseFormat(name: string): Format {
  if (name === "nested" || name === "highstate") return "text";
  if ((FORMATS as readonly string[]).includes(name)) return name as Format;
  throw new InvalidArgumentError(`expected one of ${FORMAT_NAMES.join(", ")}`);
}

/** True for the formats read by people, which commands render as text. */
export function isText(format: Format): format is "text" | "txt" {
  return format === "text" || format === "txt";
}

/** Serialize `value` as JSON, YAML or Python's repr. */
export function serialize(value: unknown, format: "json" | "yaml" | "raw"): string {
  if (format === "raw") return pyRepr(value);
  return format === "json"
    ? JSON.stringify(value, null, 2)
    : stringify(value, { indent: 2, lineWidth: 0 }).replace(/\n$/, "");
}

/** `value` as Python prints it: `{'web-01': True}`. */
export function pyRepr(value: unknown): string {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")}'`;
  }
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (value instanceof Uint8Array) {
    return `b'${[...value].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("")}'`;
  }
  return `{${
    Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(", ")
  }}`;
}
