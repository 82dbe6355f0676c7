/**
 * The CLI's config (`~/.zester/config.yaml`, or `--config`): which NATS servers reach the
 * masters, and with which credentials.
 * @module
 */
import * as s from "../schema/mod.ts";
import { LOG_LEVELS } from "../log/mod.ts";
import type { BusOptions } from "../bus/mod.ts";
import { natsUrls } from "./nats.ts";

/** Validator for the CLI config. Unknown keys are errors. */
export const CliConfig = s.object({
  master: s.optional(
    s.object({
      urls: s.optional(natsUrls, ["nats://127.0.0.1:4222"]),
      creds_file: s.optional(s.string()),
      ca_file: s.optional(s.string()),
      cert_file: s.optional(s.string()),
      key_file: s.optional(s.string()),
      insecure: s.optional(s.boolean(), false),
    }),
    { urls: ["nats://127.0.0.1:4222"], insecure: false },
  ),
  log_level: s.optional(s.literal(...LOG_LEVELS), "warn"),
});
/** A validated CLI config. */
export type CliConfig = s.Infer<typeof CliConfig>;

/** The bus options for a CLI config; `~` in paths is the user's home. */
export function cliBusOptions(cfg: CliConfig, home?: string): BusOptions {
  const expand = (p?: string) => p && home ? p.replace(/^~(?=\/|$)/, home) : p;
  return {
    servers: cfg.master.urls,
    name: "zester-cli",
    credsFile: expand(cfg.master.creds_file),
    caFile: expand(cfg.master.ca_file),
    certFile: expand(cfg.master.cert_file),
    keyFile: expand(cfg.master.key_file),
    insecure: cfg.master.insecure,
  };
}
