/** A real broker for one test, started through its launcher, and readers of what it did. */
import assert from "node:assert/strict";
import { BrokerClient, BrokerError } from "../../peel/broker/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { devBrokerPolicy, writeDevLauncher, writeYaml } from "../../deploy/dev/fleet.ts";

const quiet = new Logger({ level: "error", sink: () => {} });

/**
 * Write a peel.yaml (`<base>/peel.yaml` unless `file` names another) with the development policy
 * (shell commands denied) plus `broker`, and its launcher at `<base>/zester-broker`; return a
 * client that starts that broker on its first request. `extra` adds top-level keys.
 */
export async function brokerAt(
  base: string,
  broker: Record<string, unknown> = {},
  opts: { file?: string; extra?: Record<string, unknown> } = {},
): Promise<BrokerClient> {
  const file = opts.file ?? `${base}/peel.yaml`;
  await Deno.mkdir(`${base}/files`, { recursive: true, mode: 0o755 });
  await writeYaml(file, {
    id: "test-peel",
    ...opts.extra,
    broker: { ...devBrokerPolicy(base), cmd_run: "deny", ...broker },
  });
  const launcher = await writeDevLauncher(`${base}/zester-broker`, file);
  return new BrokerClient({ launcher, idleTimeoutMs: 60_000, log: quiet });
}

/** The records of the audit log at `path` (default: the development policy's in `base`). */
export async function auditRecords(
  base: string,
  path = `${base}/broker-audit.log`,
): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path);
  return text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** Assert that `p` rejects with a `BrokerError` of `code` whose message matches `re`. */
export async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}
