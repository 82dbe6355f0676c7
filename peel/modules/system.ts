/**
 * System settings with Salt's arguments and wording: `host.present|absent` (`etc/hosts`, through
 * the file operations and `write_paths`), `sysctl.present` and `timezone.system` (through the
 * broker's typed operations), `locale.system` (`etc/default/locale` or `etc/locale.conf`) and
 * `locale.present` (`etc/locale.gen`, then `locale-gen` as an exec entry). Files live under the
 * policy's `system_root`, which the broker reports.
 * @module
 */
import type { Chunk, Outcome, StateFunction } from "../../lib/state/mod.ts";
import type { Broker, RunResult } from "../broker/mod.ts";
import { badArg, boolArg, listArg, needStr, strArg } from "./args.ts";
import { joinLines, readText, splitLines, stat } from "./file_io.ts";

/** The broker's `system_root`, as a prefix for absolute paths (`""` for `/`). */
export async function systemRoot(b: Broker): Promise<string> {
  const { root } = await b.request("system.root", {}) as { root: string };
  return root.replace(/\/+$/, "");
}

const IP = /^[0-9A-Fa-f:.]+(%\w+)?$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** `/etc/hosts` lines as address and names, comments kept. */
function parseHosts(text: string): { ip?: string; names: string[]; raw: string }[] {
  return splitLines(text).map((raw) => {
    const body = raw.replace(/#.*/, "").trim();
    const [ip, ...names] = body ? body.split(/\s+/) : [];
    return { ip, names, raw };
  });
}

/** The `host` state module. */
function hostStates(b: Broker, root: () => Promise<string>): Record<string, StateFunction> {
  const edit = async (
    test: boolean,
    change: (entries: ReturnType<typeof parseHosts>) => Record<string, Record<string, string[]>>,
  ) => {
    const path = `${await root()}/etc/hosts`;
    const text = (await stat(b, path)).exists ? await readText(b, path) : "";
    const entries = parseHosts(text);
    const changes = change(entries);
    if (Object.keys(changes).length && !test) {
      const next = joinLines(
        entries.filter((e) => !e.ip || e.names.length).map((e) =>
          e.ip && e.raw === "" ? `${e.ip}\t${e.names.join(" ")}` : e.raw
        ),
      );
      await b.request("write", { path, data: next });
    }
    return changes;
  };
  const hostName = (c: Chunk) => {
    if (!HOSTNAME.test(c.name)) throw badArg(c, "name", "a host name");
    return c.name;
  };
  const ips = (c: Chunk, need: boolean) => {
    const v = listArg(c, "ip") ?? [];
    if (need && v.length === 0) throw badArg(c, "ip", "an address or a list of addresses");
    for (const ip of v) if (!IP.test(ip)) throw badArg(c, "ip", "IP addresses");
    return v;
  };
  /** Put `name` on `ip`'s line (a new line if none). */
  const add = (entries: ReturnType<typeof parseHosts>, ip: string, name: string) => {
    const line = entries.find((e) => e.ip === ip);
    if (line?.names.includes(name)) return false;
    if (line) {
      line.names.push(name);
      line.raw = "";
    } else entries.push({ ip, names: [name], raw: "" });
    return true;
  };
  /** Take `name` off the lines of `only` (every address if empty); the addresses it left. */
  const drop = (entries: ReturnType<typeof parseHosts>, name: string, only: string[]) => {
    const left: string[] = [];
    for (const e of entries) {
      if (!e.ip || !e.names.includes(name) || (only.length && !only.includes(e.ip))) continue;
      e.names = e.names.filter((n) => n !== name);
      e.raw = "";
      left.push(e.ip);
    }
    return left;
  };
  return {
    async present(c, ctx): Promise<Outcome> {
      const name = hostName(c);
      const want = ips(c, true);
      const clean = boolArg(c, "clean", false);
      const changes = await edit(ctx.test, (entries) => {
        const out: Record<string, Record<string, string[]>> = {};
        if (clean) {
          const others = entries.filter((e) => e.ip && !want.includes(e.ip)).map((e) => e.ip!);
          for (const ip of drop(entries, name, others)) (out.removed ??= {})[ip] = [name];
        }
        for (const ip of want) if (add(entries, ip, name)) (out.added ??= {})[ip] = [name];
        return out;
      });
      const at = `${name} (${want.join(", ")})`;
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `Host ${at} already present`, changes };
      }
      if (ctx.test) return { result: null, comment: `Host ${at} would be added`, changes };
      return { result: true, comment: `Added host ${at}`, changes };
    },

    async absent(c, ctx): Promise<Outcome> {
      const name = hostName(c);
      const only = ips(c, false);
      const changes = await edit(ctx.test, (entries) => {
        const left = drop(entries, name, only);
        const out: Record<string, Record<string, string[]>> = {};
        if (left.length) out.removed = Object.fromEntries(left.map((ip) => [ip, [name]]));
        return out;
      });
      if (Object.keys(changes).length === 0) {
        return { result: true, comment: `Host ${name} not present`, changes };
      }
      if (ctx.test) return { result: null, comment: `Host ${name} would be removed`, changes };
      return { result: true, comment: `Removed host ${name}`, changes };
    },
  };
}

/** `sysctl.present`: the value now and in its `config` file. */
function sysctlStates(b: Broker): Record<string, StateFunction> {
  return {
    async present(c, ctx): Promise<Outcome> {
      const value = needStr(c, "value").trim().replace(/\s+/g, " ");
      const config = strArg(c, "config");
      const now = await b.request("sysctl.get", { key: c.name, config }) as {
        value: string | null;
        persisted: string | null;
      };
      if (now.value === null) {
        return { result: false, comment: `Sysctl option ${c.name} does not exist`, changes: {} };
      }
      if (now.value === value && now.persisted?.replace(/\s+/g, " ") === value) {
        return {
          result: true,
          comment: `Sysctl value ${c.name} = ${value} is already set`,
          changes: {},
        };
      }
      const changes = { [c.name]: value };
      if (ctx.test) {
        return {
          result: null,
          comment: `Sysctl option ${c.name} set to be changed to ${value}`,
          changes,
        };
      }
      await b.request("sysctl.set", { key: c.name, value, config });
      return { result: true, comment: `Updated sysctl value ${c.name} = ${value}`, changes };
    },
  };
}

/** `timezone.system`: the zone `/etc/localtime` points to. */
function timezoneStates(b: Broker): Record<string, StateFunction> {
  return {
    async system(c, ctx): Promise<Outcome> {
      const zone = c.name;
      const now = await b.request("timezone.get", {}) as {
        zone: string | null;
        file: string | null;
      };
      if (now.zone === zone && now.file === zone) {
        return { result: true, comment: `Timezone ${zone} already set`, changes: {} };
      }
      const changes = { timezone: zone };
      if (ctx.test) return { result: null, comment: `Timezone ${zone} needs to be set`, changes };
      await b.request("timezone.set", { zone });
      return { result: true, comment: `Set timezone ${zone}`, changes };
    },
  };
}

const LOCALE = /^[A-Za-z]{2,3}(_[A-Z]{2})?(\.[A-Za-z0-9-]+)?(@\w+)?$|^C(\.UTF-8)?$|^POSIX$/;

/** `locale.system` and `locale.present`. */
function localeStates(
  b: Broker,
  root: () => Promise<string>,
  family: () => string,
): Record<string, StateFunction> {
  const locale = (c: Chunk) => {
    if (!LOCALE.test(c.name)) throw badArg(c, "name", "a locale such as en_US.UTF-8");
    return c.name;
  };
  const read = async (path: string) => (await stat(b, path)).exists ? await readText(b, path) : "";
  return {
    async system(c, ctx): Promise<Outcome> {
      const name = locale(c);
      const path = `${await root()}${
        family() === "redhat" ? "/etc/locale.conf" : "/etc/default/locale"
      }`;
      const lines = splitLines(await read(path));
      const at = lines.findIndex((l) => /^\s*LANG=/.test(l));
      const line = `LANG=${name}`;
      if (at >= 0 && lines[at]!.trim().replace(/"/g, "") === line) {
        return { result: true, comment: `System locale ${name} already set`, changes: {} };
      }
      const changes = { locale: name };
      if (ctx.test) {
        return { result: null, comment: `System locale ${name} needs to be set`, changes };
      }
      if (at >= 0) lines[at] = line;
      else lines.push(line);
      await b.request("write", { path, data: joinLines(lines) });
      return { result: true, comment: `Set system locale ${name}`, changes };
    },

    async present(c, ctx): Promise<Outcome> {
      const name = locale(c);
      const charset = strArg(c, "charset") ?? (/\.(.+)$/.exec(name)?.[1] ?? "ISO-8859-1");
      const path = `${await root()}/etc/locale.gen`;
      const lines = splitLines(await read(path));
      const entry = `${name} ${charset}`;
      const on = (l: string) => l.trim().replace(/\s+/g, " ") === entry;
      if (lines.some(on)) {
        return { result: true, comment: `Locale ${name} is already present`, changes: {} };
      }
      const changes = { locale: name };
      if (ctx.test) return { result: null, comment: `Locale ${name} would be generated`, changes };
      const commented = lines.findIndex((l) => on(l.replace(/^\s*#\s*/, "")));
      if (commented >= 0) lines[commented] = entry;
      else lines.push(entry);
      await b.request("write", { path, data: joinLines(lines) });
      const r = await b.request("run", { argv: ["/usr/sbin/locale-gen"] }) as RunResult;
      if (r.retcode !== 0) {
        return {
          result: false,
          comment: `locale-gen failed: ${(r.stderr || r.stdout).trim()}`,
          changes,
        };
      }
      return { result: true, comment: `Generated locale ${name}`, changes };
    },
  };
}

/** The system state modules, bound to the broker and the peel's facts. */
export function systemStates(
  b: Broker,
  facts: Record<string, unknown>,
): Record<string, Record<string, StateFunction>> {
  let cached: Promise<string> | undefined;
  const root = () => cached ??= systemRoot(b);
  const family = () => String((facts.os as { family?: unknown } | undefined)?.family ?? "");
  return {
    host: hostStates(b, root),
    sysctl: sysctlStates(b),
    timezone: timezoneStates(b),
    locale: localeStates(b, root, family),
  };
}
