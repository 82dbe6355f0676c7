/**
 * Durations as operators write them (`500ms`, `30s`, `5m`, `1h`, `1h30m`, or a bare number of
 * seconds, as Salt's `-t` takes), parsed to milliseconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("1m30s"); // 90000
 * ```
 * @module
 */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Parse `text` into milliseconds; throws `TypeError` naming the value when it is not a duration. */
export function parseDuration(text: string | number): number {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0) {
      throw new TypeError(`Cannot parse duration ${text}: expected a non-negative number`);
    }
    return Math.round(text * 1000);
  }
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m) {
      throw new TypeError(
        `Cannot parse duration "${text}": expected a number and a unit (ms, s, m, h, d) at ${at}`,
      );
    }
    total += Number(m[1]) * UNITS[m[2]!]!;
  }
  if (s.length === 0) throw new TypeError(`Cannot parse duration "${text}": it is empty`);
  return Math.round(total);
}

/** Format milliseconds for people: `850ms`, `1.5s`, `2m5s`; each unit carries into the next. */
export function formatDuration(ms: number): string {
  const millis = Math.round(ms * 100) / 100;
  if (millis < 1000) return `${millis}ms`;
  const seconds = Math.round(ms / 10) / 100;
  if (seconds < 60) return `${seconds}s`;
  const whole = Math.round(ms / 1000);
  const m = Math.floor(whole / 60);
  const s = whole % 60;
  return s ? `${m}m${s}s` : `${m}m`;
}
