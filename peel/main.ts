/**
 * `zester-peel`: load `peel.yaml` (or `--config <file>`), then answer jobs until SIGINT or
 * SIGTERM. A bad config (unknown key, wrong type, bad id) exits with status 2 and names the
 * file and field.
 * @module
 */
import { configPathFrom, loadConfig, PEEL_CONFIG_PATH, PeelConfig } from "../lib/config/mod.ts";
import { keepRunning, Logger } from "../lib/log/mod.ts";
import { Peel } from "./peel.ts";

async function main(args: string[]): Promise<number> {
  const path = configPathFrom(args, PEEL_CONFIG_PATH);
  let cfg: PeelConfig;
  try {
    cfg = await loadConfig(path, PeelConfig);
  } catch (e) {
    new Logger({ fields: { component: "peel" } }).error((e as Error).message);
    return 2;
  }
  const log = new Logger({
    level: cfg.log_level,
    format: cfg.log_format,
    fields: { component: "peel", peel_id: cfg.id },
  });
  keepRunning(log);
  const stopped = new AbortController();
  Deno.addSignalListener("SIGINT", () => stopped.abort());
  Deno.addSignalListener("SIGTERM", () => stopped.abort());
  let peel: Peel;
  try {
    peel = await Peel.start(cfg, log, stopped.signal, path);
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
