/**
 * The fleet simulator: N simulated peels spread over K processes (see `fleet_worker.ts`).
 * Used by the benchmarks and by tests that need many peels.
 * @module
 */
import { DENO_CONFIG } from "../deploy/dev/fleet.ts";
import type { BusOptions } from "../lib/bus/mod.ts";
import { YAML_ENV } from "../lib/config/mod.ts";
import { TEMPLATE_MODULES } from "../lib/template/modules_dir.ts";

/** How simulated peels authenticate: creds and TLS files (none for a plain server). */
export type FleetAuth = Pick<BusOptions, "credsFile" | "caFile" | "certFile" | "keyFile">;

const WORKER = new URL("./fleet_worker.ts", import.meta.url).pathname;

/** A running simulated fleet. */
export interface Fleet extends AsyncDisposable {
  /** Peel ids, sorted. */
  readonly ids: string[];
  /** Worker process ids. */
  readonly pids: number[];
  /** Close every peel and wait for the workers to exit. */
  stop(): Promise<void>;
}

/** Start `peels` simulated peels named `<prefix>00000…` in `processes` worker processes. */
export async function startFleet(opts: {
  natsUrl: string;
  /** Servers the workers connect to, in turn (those of a cluster); default `natsUrl`. */
  workerUrls?: string[];
  peels: number;
  prefix: string;
  processes?: number;
  /** Files every simulated peel connects with, on a secured server. */
  auth?: FleetAuth;
  /**
   * Where each worker process mirrors the `state-files` bucket (in a subdirectory of its own),
   * for the state tree its peels apply; without it, they have none.
   */
  statesDir?: string;
  /** Deno flags for the workers besides their permissions (`--cpu-prof` to profile them). */
  denoFlags?: string[];
}): Promise<Fleet> {
  const files = Object.values(opts.auth ?? {}).filter((f): f is string => !!f);
  if (opts.statesDir) files.push(opts.statesDir, ...TEMPLATE_MODULES);
  const k = Math.max(1, Math.min(opts.processes ?? 2, opts.peels));
  const per = Math.ceil(opts.peels / k);
  const children: Deno.ChildProcess[] = [];
  const ids: string[] = [];
  const ready: Promise<void>[] = [];
  for (let w = 0; w < k; w++) {
    const first = w * per;
    const count = Math.min(per, opts.peels - first);
    if (count <= 0) break;
    for (let i = 0; i < count; i++) ids.push(`${opts.prefix}${String(first + i).padStart(5, "0")}`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        DENO_CONFIG,
        "--no-prompt",
        "--allow-net=127.0.0.1",
        ...(files.length ? [`--allow-read=${files.join(",")}`] : []),
        ...(opts.statesDir
          ? [`--allow-write=${opts.statesDir}`, `--allow-env=${YAML_ENV.join(",")}`]
          : []),
        ...(opts.denoFlags ?? []),
        WORKER,
        opts.workerUrls?.[w % opts.workerUrls.length] ?? opts.natsUrl,
        opts.prefix,
        String(first),
        String(count),
        JSON.stringify(opts.auth ?? {}),
        ...(opts.statesDir ? [`${opts.statesDir}/w${w}`] : []),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    children.push(child);
    ready.push((async () => {
      const dec = new TextDecoder();
      let text = "";
      const reader = child.stdout.getReader();
      while (!text.includes("ready")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`fleet worker ${child.pid} exited before it was ready`);
        text += dec.decode(value);
      }
      reader.releaseLock();
      child.stdout.cancel().catch(() => {});
    })());
  }
  const stop = async () => {
    await Promise.all(children.map(async (c) => {
      await c.stdin.close().catch(() => {});
      const t = setTimeout(() => c.kill("SIGKILL"), 15_000);
      await c.status;
      clearTimeout(t);
    }));
  };
  try {
    await Promise.all(ready);
  } catch (e) {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch { /* gone */ }
    }
    await stop();
    throw e;
  }
  return { ids: ids.sort(), pids: children.map((c) => c.pid), stop, [Symbol.asyncDispose]: stop };
}
