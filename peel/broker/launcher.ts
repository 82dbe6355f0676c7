/**
 * The broker's launcher: the one program the peel may run. In production it is the compiled
 * `zester-broker` binary; from a checkout it is this script, owned by root, which wipes the
 * environment, names the policy file, and starts the broker with fixed Deno flags. Whatever the peel passes lands after
 * the script name, as program arguments, never as Deno flags.
 * @module
 */
import { brokerPermissionFlags } from "../../lib/config/permissions.ts";

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Paths of this checkout's `deno.json` and broker entry point. */
export function defaultBrokerPaths(): { configPath: string; brokerMain: string } {
  return {
    configPath: new URL("../../deno.json", import.meta.url).pathname,
    brokerMain: new URL("./main.ts", import.meta.url).pathname,
  };
}

/** The launcher script's text. */
export function brokerLauncherScript(opts: {
  denoPath: string;
  configPath: string;
  brokerMain: string;
  home: string;
  denoDir?: string;
  policyPath: string;
}): string {
  const env = [
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    `ZESTER_BROKER_POLICY=${quote(opts.policyPath)}`,
    `HOME=${quote(opts.home)}`,
    ...(opts.denoDir ? [`DENO_DIR=${quote(opts.denoDir)}`] : []),
    "NO_COLOR=1",
  ];
  return [
    "#!/bin/sh",
    "# zester-broker launcher: fixed Deno flags, empty environment. Keep it root-owned, 0755.",
    `exec /usr/bin/env -i ${env.join(" ")} ${quote(opts.denoPath)} run --quiet --config ${
      quote(opts.configPath)
    } ${brokerPermissionFlags().join(" ")} ${quote(opts.brokerMain)} "$@"`,
    "",
  ].join("\n");
}

/** Write the launcher script to `path`, mode 0755. */
export async function writeBrokerLauncher(opts: {
  path: string;
  configPath: string;
  brokerMain: string;
  policyPath: string;
  denoPath?: string;
}): Promise<void> {
  const text = brokerLauncherScript({
    denoPath: opts.denoPath ?? Deno.execPath(),
    configPath: opts.configPath,
    brokerMain: opts.brokerMain,
    home: Deno.env.get("HOME") ?? "/root",
    denoDir: Deno.env.get("DENO_DIR"),
    policyPath: opts.policyPath,
  });
  await Deno.writeTextFile(opts.path, text, { mode: 0o755 });
  await Deno.chmod(opts.path, 0o755);
}
