/**
 * `zester basket get '<target>' <function>` and `zester basket list <peel-id>`: what peels
 * published into the basket (Salt's mine), as `{peel_id: value}` like Salt's `mine.get`.
 * @module
 */
import type { NatsConnection } from "nats";
import { listNames } from "../../lib/basket/mod.ts";
import { BUCKETS, isPeelId, openBucket } from "../../lib/bus/mod.ts";
import type { TargetType } from "../../lib/job/mod.ts";
import { type Format, indent, renderValue, serialize } from "../output/mod.ts";

/** `{peel_id: names}` for `peelId`; throws `TypeError` for an invalid id. */
export async function basketList(
  nc: NatsConnection,
  peelId: string,
): Promise<Record<string, string[]>> {
  if (!isPeelId(peelId)) throw new TypeError(`Invalid peel id "${peelId}"`);
  return { [peelId]: await listNames(await openBucket(nc, BUCKETS.basket), peelId) };
}

/** `{peel_id: value}` in `format`: Salt's nested text, `id: value` lines, or serialized. */
export function renderBasket(
  found: Record<string, unknown>,
  format: Format,
  empty: string,
): string {
  const ids = Object.keys(found);
  if (format === "json" || format === "yaml" || format === "raw") return serialize(found, format);
  if (ids.length === 0) return empty;
  if (format === "txt") {
    return ids.map((id) => `${id}: ${renderValue(found[id]).replace(/\n/g, `\n${id}: `)}`)
      .join("\n");
  }
  return ids.map((id) => `${id}:\n${indent(renderValue(found[id]))}`).join("\n");
}

/** The text printed when `tgt` selects no peel with entry `name`. */
export function noEntries(tgt: string, name: string, tgtType?: TargetType): string {
  return `No peel matching "${tgt}"${tgtType ? ` (${tgtType})` : ""} has "${name}" in the basket.`;
}
