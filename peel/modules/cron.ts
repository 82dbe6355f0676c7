/**
 * `cron.present|absent|env_present|env_absent`: entries of a user's crontab in Salt's format
 * (a `# [comment ]SALT_CRON_IDENTIFIER:<id>` line above each job, below Salt's header). The
 * peel edits the crontab's text; the broker reads and writes it, for the users its policy's
 * `crontabs` names.
 * @module
 */
import type { Chunk, Outcome, StateContext, StateFunction } from "../../lib/state/mod.ts";
import type { Broker } from "../broker/mod.ts";
import { badArg, boolArg, strArg } from "./args.ts";
import { joinLines, splitLines } from "./file_io.ts";

const HEADER = "# Lines below here are managed by Salt, do not edit";
const IDENT = "SALT_CRON_IDENTIFIER";
const FIELD = /^[0-9A-Za-z*\/,-]+$/;
const SPECIAL = /^@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)$/;
const ONE_LINE = /^[^\n\r]+$/;

/** A job line's command: what follows its special or its five time fields. */
function command(line: string): string | undefined {
  const t = line.replace(/^#\s*/, "");
  const m = /^(@\w+)\s+(.*)$/.exec(t) ?? /^(\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+(.*)$/.exec(t);
  return m?.[2];
}

function oneLine(c: Chunk, key: string, v: string): string {
  if (!ONE_LINE.test(v)) throw badArg(c, key, "one line");
  return v;
}

/** The lines a `cron.present` wants: its identifier comment and its job. */
function jobLines(c: Chunk): { id: string; ident: string; job: string } {
  const cmd = oneLine(c, "name", c.name);
  const id = oneLine(c, "identifier", strArg(c, "identifier") ?? cmd);
  const comment = strArg(c, "comment");
  if (comment !== undefined) oneLine(c, "comment", comment);
  const special = strArg(c, "special");
  if (special !== undefined && !SPECIAL.test(special)) {
    throw badArg(c, "special", "@reboot, @hourly, @daily, @weekly, @monthly or @yearly");
  }
  const times = ["minute", "hour", "daymonth", "month", "dayweek"].map((k) => {
    const v = strArg(c, k, "*");
    if (!FIELD.test(v)) throw badArg(c, k, "a cron time field (digits, *, /, , or -)");
    return v;
  });
  const when = special ?? times.join(" ");
  return {
    id,
    ident: `# ${comment ? `${comment} ` : ""}${IDENT}:${id}`,
    job: `${boolArg(c, "commented", false) ? "#" : ""}${when} ${cmd}`,
  };
}

/** Where the job `id` (or, without its identifier line, the command `cmd`) is. */
function find(lines: string[], id: string, cmd: string): { ident: number; job: number } {
  const ident = lines.findIndex((l) => l.startsWith("#") && l.endsWith(`${IDENT}:${id}`));
  if (ident >= 0) return { ident, job: ident + 1 };
  return {
    ident: -1,
    job: lines.findIndex((l, i) => command(l) === cmd && !lines[i - 1]?.includes(`${IDENT}:`)),
  };
}

/** The `cron` state module. */
export function cronStates(b: Broker): Record<string, StateFunction> {
  /** Edit the crontab with `change`, which says what it did ("added"…) or nothing. */
  const edit = async (
    c: Chunk,
    ctx: StateContext,
    change: (lines: string[]) => string | undefined,
    words: (did: string) => { none: string; would: string; done: string },
  ): Promise<Outcome> => {
    const user = strArg(c, "user", "root");
    const { text } = await b.request("cron.read", { user }) as { text: string | null };
    const lines = splitLines(text ?? "");
    const did = change(lines);
    if (!did) return { result: true, comment: words("").none, changes: {} };
    const changes = { [user]: c.name };
    if (ctx.test) return { result: null, comment: words(did).would, changes };
    await b.request("cron.write", { user, text: joinLines(lines) });
    return { result: true, comment: words(did).done, changes };
  };
  const managed = (lines: string[]) => {
    if (!lines.includes(HEADER)) lines.push(HEADER);
    return lines.indexOf(HEADER) + 1;
  };
  return {
    present(c, ctx) {
      const want = jobLines(c);
      const user = strArg(c, "user", "root");
      return edit(c, ctx, (lines) => {
        const at = find(lines, want.id, c.name);
        if (at.job < 0) {
          managed(lines);
          lines.push(want.ident, want.job);
          return "added";
        }
        if (at.ident >= 0 && lines[at.ident] === want.ident && lines[at.job] === want.job) {
          return undefined;
        }
        if (at.ident >= 0) lines.splice(at.ident, 2, want.ident, want.job);
        else lines.splice(at.job, 1, want.ident, want.job);
        return "updated";
      }, (did) => ({
        none: `Cron ${c.name} already present`,
        would: `Cron ${c.name} is set to be ${did}`,
        done: did === "added"
          ? `Cron ${c.name} added to ${user}'s crontab`
          : `Cron ${c.name} updated`,
      }));
    },

    absent(c, ctx) {
      const user = strArg(c, "user", "root");
      const id = oneLine(c, "identifier", strArg(c, "identifier") ?? c.name);
      return edit(c, ctx, (lines) => {
        const at = find(lines, id, c.name);
        if (at.job < 0 && at.ident < 0) return undefined;
        if (at.ident >= 0) lines.splice(at.ident, at.job < lines.length ? 2 : 1);
        else lines.splice(at.job, 1);
        return "removed";
      }, () => ({
        none: `Cron ${c.name} already absent from ${user}'s crontab`,
        would: `Cron ${c.name} is set to be removed`,
        done: `Cron ${c.name} removed from ${user}'s crontab`,
      }));
    },

    env_present(c, ctx) {
      const user = strArg(c, "user", "root");
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.name)) {
        throw badArg(c, "name", "a variable name");
      }
      const line = `${c.name}=${oneLine(c, "value", strArg(c, "value") ?? "")}`;
      return edit(c, ctx, (lines) => {
        const at = lines.findIndex((l) => l.startsWith(`${c.name}=`));
        if (at >= 0 && lines[at] === line) return undefined;
        if (at >= 0) lines[at] = line;
        else lines.splice(managed(lines), 0, line);
        return at >= 0 ? "updated" : "added";
      }, (did) => ({
        none: `Cron env ${c.name} already present`,
        would: `Cron env ${c.name} is set to be ${did}`,
        done: did === "added"
          ? `Cron env ${c.name} added to ${user}'s crontab`
          : `Cron env ${c.name} updated`,
      }));
    },

    env_absent(c, ctx) {
      const user = strArg(c, "user", "root");
      return edit(c, ctx, (lines) => {
        const at = lines.findIndex((l) => l.startsWith(`${c.name}=`));
        if (at < 0) return undefined;
        lines.splice(at, 1);
        return "removed";
      }, () => ({
        none: `Cron env ${c.name} already absent`,
        would: `Cron env ${c.name} is set to be removed`,
        done: `Cron env ${c.name} removed from ${user}'s crontab`,
      }));
    },
  };
}
