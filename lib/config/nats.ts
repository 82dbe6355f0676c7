/**
 * The NATS connection keys shared by `master.yaml` and `peel.yaml`, and their mapping to
 * {@linkcode BusOptions}.
 * @module
 */
import * as s from "../schema/mod.ts";
import { type BusOptions, parseServerUrl } from "../bus/mod.ts";
import { LOG_LEVELS } from "../log/mod.ts";
import { parseDuration } from "./duration.ts";

const url = s.transform(s.string(), (v, path) => {
  try {
    parseServerUrl(v);
  } catch (e) {
    throw new s.SchemaError(path, "a NATS URL such as tls://nats:4222", v, { cause: e });
  }
  return v;
}, "a NATS URL");

/** One NATS URL or a list of them, as a list. */
export const natsUrls: s.Schema<string[]> = s.transform(
  s.union(url, s.array(url)),
  (v) => Array.isArray(v) ? v : [v],
  "a NATS URL or a list of them",
);

/**
 * Keys for reaching NATS, as in the product's configuration reference. `nats_url` is required:
 * a daemon must not guess where its servers are.
 */
export const natsKeys = {
  nats_url: natsUrls,
  nats_creds: s.optional(s.string()),
  nats_ca: s.optional(s.string()),
  nats_cert: s.optional(s.string()),
  nats_key: s.optional(s.string()),
  insecure: s.optional(s.boolean(), false),
};

/** A listen address `host:port` (`0.0.0.0:8443`, `[::]:8443`), parsed. */
export function listenAddress(): s.Schema<{ host: string; port: number }> {
  return s.transform(s.string(), (v, path) => {
    const m = /^(\[[^\]]+\]|[^:\s,]+):(\d{1,5})$/.exec(v);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) {
      throw new s.SchemaError(path, "an address host:port such as 0.0.0.0:8443", v);
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
  }, "an address host:port such as 0.0.0.0:8443");
}

/** Logging keys. */
export const logKeys = {
  log_level: s.optional(s.literal(...LOG_LEVELS), "info"),
  log_format: s.optional(s.literal("json", "text"), "json"),
};

/** A duration (`30s`, `5m`, or seconds as a number), parsed to milliseconds. */
export function duration(): s.Schema<number> {
  return s.transform(
    s.union(s.string(), s.number({ min: 0 })),
    (v, path) => {
      try {
        return parseDuration(v);
      } catch (e) {
        throw new s.SchemaError(path, "a duration such as 30s or 5m", v, { cause: e });
      }
    },
    "a duration such as 30s or 5m",
  );
}

/** The bus options for a config with {@linkcode natsKeys}. */
export function busOptions(
  cfg: {
    nats_url: string[];
    nats_creds?: string;
    nats_ca?: string;
    nats_cert?: string;
    nats_key?: string;
    insecure: boolean;
  },
  name: string,
): BusOptions {
  return {
    servers: cfg.nats_url,
    name,
    credsFile: cfg.nats_creds,
    caFile: cfg.nats_ca,
    certFile: cfg.nats_cert,
    keyFile: cfg.nats_key,
    insecure: cfg.insecure,
  };
}
