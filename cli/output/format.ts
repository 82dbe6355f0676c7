/**
 * The `--format` choice: text for people, JSON and YAML for programs.
 * @module
 */
import { stringify } from "yaml";

/** Output formats the CLI accepts. */
export const FORMATS = ["text", "json", "yaml"] as const;
/** One of {@linkcode FORMATS}. */
export type Format = typeof FORMATS[number];

/** Serialize `value` as JSON or YAML. */
export function serialize(value: unknown, format: "json" | "yaml"): string {
  return format === "json"
    ? JSON.stringify(value, null, 2)
    : stringify(value, { indent: 2, lineWidth: 0 }).replace(/\n$/, "");
}
