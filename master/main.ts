/**
 * `zester-master`: load `master.yaml` (or `--config <file>`), then serve until SIGINT/SIGTERM.
 * A bad config exits with status 2 and a message naming the file and field, and so does a
 * process started without V8's linear-time RegExp engine, under which one target could stall it.
 * @module
 */
import {
  configPathFrom,
  loadConfig,
  MASTER_CONFIG_PATH,
  MasterConfig,
  V8_FLAGS,
} from "../lib/config/mod.ts";
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
  const path = configPathFrom(args, MASTER_CONFIG_PATH);
  let cfg: MasterConfig;
  try {
    cfg = await loadConfig(path, MasterConfig);
  } catch (e) {
    new Logger({ fields: { component: "master" } }).error((e as Error).message);
    return 2;
  }
  const log = new Logger({
    level: cfg.log_level,
    format: cfg.log_format,
    fields: { component: "master" },
  });
  keepRunning(log);
  let master: Master;
  try {
    master = await Master.start(cfg, log);
  } catch (e) {
    log.error("cannot start master", { error: e });
    return 1;
  }
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped.promise;
  await master.stop();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
