/**
 * Finding and loading the CLI's config: `--config`, else `$ZESTER_CONFIG`, else
 * `~/.zester/config.yaml`, else NATS on `nats://127.0.0.1:4222` with no credentials.
 * @module
 */
import { CliConfig, loadConfig, parseConfig } from "../lib/config/mod.ts";

/** The config in force, and where it came from (`undefined` for built-in defaults). */
export async function loadCliConfig(
  explicit?: string,
): Promise<{ config: CliConfig; path?: string }> {
  const home = Deno.env.get("HOME");
  const path = explicit ?? Deno.env.get("ZESTER_CONFIG") ??
    (home ? `${home}/.zester/config.yaml` : undefined);
  if (!path) return { config: parseConfig("", "<defaults>", CliConfig) };
  if (explicit === undefined && !Deno.env.get("ZESTER_CONFIG")) {
    try {
      await Deno.stat(path);
    } catch {
      return { config: parseConfig("", "<defaults>", CliConfig) };
    }
  }
  return { config: await loadConfig(path, CliConfig), path };
}
