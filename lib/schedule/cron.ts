/**
 * Five-field cron expressions (`minute hour day-of-month month day-of-week`) as Vixie cron and
 * Salt (croniter) read them: lists, ranges, steps (`1-30/5`, or `*` with a step), names of
 * months and days (`jan`, `mon-fri`), Sunday as 0 or 7, local time. When both day fields are
 * restricted a day matches either (`0 0 13 * fri`: the 13th and every Friday); when one is `*`,
 * only the other counts. Evaluation is croner's; this module refuses its extensions (seconds and
 * year fields, `L`, `W`, `#`, `?`, `@daily`) so that an expression means the same here as in a
 * crontab.
 *
 * @example
 * ```ts
 * import { parseCron } from "./cron.ts";
 * const cron = parseCron("0 9 * * mon-fri");
 * cron.next(new Date("2025-01-03T10:00:00")); // Monday 2025-01-06T09:00:00, local time
 * ```
 * @module
 */
import { Cron } from "croner";

/** A cron expression that cannot be used; the message quotes it and says why. */
export class CronError extends SyntaxError {
  /** Build the error for `expression`. */
  constructor(expression: string, why: string, options?: ErrorOptions) {
    super(`Invalid cron expression "${expression}": ${why}`, options);
    this.name = "CronError";
  }
}

const FIELDS = ["minute", "hour", "day of month", "month", "day of week"] as const;
const ATOM = String.raw`(?:\d+|[a-z]{3})`;
const PART = String.raw`(?:\*|${ATOM}(?:-${ATOM})?)(?:/\d+)?`;
const FIELD = new RegExp(`^${PART}(?:,${PART})*$`, "i");

/** A parsed cron expression. */
export interface CronSchedule {
  /** The expression as written. */
  readonly expression: string;
  /** The first matching minute strictly after `after`, or `null` when none comes. */
  next(after: Date): Date | null;
}

/** Parse `expression`; throws {@linkcode CronError} naming the field at fault. */
export function parseCron(expression: string): CronSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new CronError(
      expression,
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
    );
  }
  fields.forEach((f, i) => {
    if (!FIELD.test(f)) {
      throw new CronError(
        expression,
        `the ${FIELDS[i]} field "${f}" is not a list of numbers, names, ranges and steps`,
      );
    }
  });
  let cron: Cron;
  try {
    cron = new Cron(fields.join(" "), { paused: true, mode: "5-part", domAndDow: false });
  } catch (e) {
    throw new CronError(expression, (e as Error).message.replace(/^CronPattern: /, ""), {
      cause: e,
    });
  }
  const schedule: CronSchedule = {
    expression,
    next: (after) => cron.nextRun(after),
  };
  if (!schedule.next(new Date())) {
    throw new CronError(expression, "it matches no date (such as February 30)");
  }
  return schedule;
}
