/**
 * `zester-master [--config FILE] [--<key> VALUE]...`: load `master.yaml`, each flag over the
 * file's key of the same name, then serve until SIGINT/SIGTERM. A bad flag or config exits with
 * status 2 and a message naming the flag, or the file, line and field, and so does a process
 * started without V8's linear-time RegExp engine, under which one target could stall it.
 * @module
 */
import { daemonConfig, logPlanned, MASTER_DAEMON, V8_FLAGS } from "../lib/config/mod.ts";
import { keepRunning, Logger } from "../lib/log/mod.ts";
import { hasLinearRegExp } from "../lib/target/mod.ts";
import { Master } from "./master.ts";

async function main(args: string[]): Promise<number> {
  if (!hasLinearRegExp) {
    new Logger({ fields: { component: "master" } }).error(
      `Refusing to start without ${V8_FLAGS}: regex targets must run in linear time`,
    );
    return 2;
  }
  const boot = new Logger({ fields: { component: "master" } });
  const read = await daemonConfig(MASTER_DAEMON, args, (line) => boot.error(line));
  if ("exit" in read) return read.exit;
  const cfg = read.config;
  const log = new Logger({
    level: cfg.log_level,
    format: cfg.log_format,
    fields: { component: "master" },
  });
  logPlanned(log, read.planned);
  keepRunning(log);
  const stopped = new AbortController();
  Deno.addSignalListener("SIGINT", () => stopped.abort());
  Deno.addSignalListener("SIGTERM", () => stopped.abort());
  let master: Master;
  try {
    master = await Master.start(cfg, log, stopped.signal);
  } catch (e) {
    if (stopped.signal.aborted) return 0;
    log.error("cannot start master", { error: e });
    return 1;
  }
  if (!stopped.signal.aborted) {
    await new Promise((r) => stopped.signal.addEventListener("abort", r, { once: true }));
  }
  await master.stop();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
