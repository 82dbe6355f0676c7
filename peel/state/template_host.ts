/**
 * What templates ask of the host (`salt['cmd.run']`, `salt['file.file_exists']`,
 * `salt['file.read']`…), done by the broker under its policy, as the state modules act; and
 * basket entries (`salt['mine.get']`, `basket()`), read from NATS.
 * @module
 */
import type { TemplateHost } from "../../lib/template/mod.ts";
import type { Broker, RunResult } from "../broker/mod.ts";

/**
 * A {@linkcode TemplateHost} over `broker`, reading basket entries with `basket` (Salt's
 * `mine.get`; without it, every lookup is empty); commands get at most `timeoutMs` by default.
 */
export function templateHost(
  broker: Broker,
  opts: { basket?: TemplateHost["basket"]; timeoutMs?: number } = {},
): TemplateHost {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return {
    basket: opts.basket,
    async run(cmd, opts) {
      const timeout = opts.timeout ? Math.min(opts.timeout * 1000, timeoutMs) : timeoutMs;
      const r = await broker.request("run", {
        argv: ["/bin/sh", "-c", cmd],
        cwd: opts.cwd,
        env: opts.env,
        stdin: opts.stdin,
        user: opts.runas,
        timeout_ms: timeout,
      }, { timeoutMs: timeout }) as RunResult;
      return { retcode: r.retcode, stdout: r.stdout, stderr: r.stderr };
    },
    async stat(path) {
      const st = await broker.request("stat", { path }) as { exists: boolean; type?: string };
      return { exists: st.exists, type: st.type };
    },
    async read(path) {
      const { data } = await broker.request("read", { path }) as { data: Uint8Array };
      return new TextDecoder().decode(data);
    },
  };
}
