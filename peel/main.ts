/**
 * `zester-peel [--config FILE] [--<key> VALUE]...`: load `peel.yaml`, each flag over the file's
 * key of the same name (`--id`, `--nats-url`, `--data-dir`…), then answer jobs until SIGINT or
 * SIGTERM. A bad flag or config (unknown key, wrong type, bad id) exits with status 2 and names
 * the flag, or the file, line and field.
 * @module
 */
import { daemonConfig, logPlanned, PEEL_DAEMON } from "../lib/config/mod.ts";
import { keepRunning, Logger } from "../lib/log/mod.ts";
import { Peel } from "./peel.ts";

async function main(args: string[]): Promise<number> {
  const boot = new Logger({ fields: { component: "peel" } });
  const read = await daemonConfig(PEEL_DAEMON, args, (line) => boot.error(line));
  if ("exit" in read) return read.exit;
  const cfg = read.config;
  const log = new Logger({
    level: cfg.log_level,
    format: cfg.log_format,
    fields: { component: "peel", peel_id: cfg.id },
  });
  logPlanned(log, read.planned);
  keepRunning(log);
  const stopped = new AbortController();
  Deno.addSignalListener("SIGINT", () => stopped.abort());
  Deno.addSignalListener("SIGTERM", () => stopped.abort());
  let peel: Peel;
  try {
    peel = await Peel.start(cfg, log, stopped.signal, read.configPath);
  } catch (e) {
    if (stopped.signal.aborted) return 0;
    log.error("cannot start peel", { error: e });
    return 1;
  }
  if (!stopped.signal.aborted) {
    await new Promise((r) => stopped.signal.addEventListener("abort", r, { once: true }));
  }
  await peel.stop();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
