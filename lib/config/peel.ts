/**
 * `peel.yaml`: the peel's id, NATS, its data dir (the only place it may write), facts, the
 * broker that runs privileged operations for it, what it publishes into the basket, and its
 * schedule.
 * @module
 */
import * as s from "../schema/mod.ts";
import { PEEL_ID_PATTERN } from "../bus/subjects.ts";
import { listenAddrSchema } from "./listen.ts";
import { BasketSection } from "./basket.ts";
import { duration, logKeys, natsKeys, natsUrls } from "./nats.ts";

/** Default path of the peel's config file. */
export const PEEL_CONFIG_PATH = "/etc/zester/peel.yaml";

/** Where the broker's launcher is installed by default: the one program the peel may run. */
export const DEFAULT_LAUNCHER = "/usr/lib/zester/zester-broker";

const absolutePath = s.string({ pattern: /^\//, expected: "an absolute path" });

const ExecRule = s.object({
  path: absolutePath,
  args: s.optional(
    s.transform(
      s.unknown(),
      (v, path) =>
        typeof v === "string"
          ? s.literal("any").parse(v, path)
          : s.array(s.array(s.string())).parse(v, path),
      '"any" or a list of argument lists',
    ),
    [[]],
  ),
});

/**
 * One `exec` entry: a program by absolute path and the argument lists it may get, each element
 * a glob on one whole argument; `"any"` allows every argument list. A bare path means no
 * arguments.
 */
export type ExecEntry = s.Infer<typeof ExecRule>;

const execEntry: s.Schema<ExecEntry> = s.transform(
  s.unknown(),
  (v, path) =>
    s.isPlainObject(v)
      ? ExecRule.parse(v, path)
      : { path: absolutePath.parse(v, path), args: [[]] },
  "an absolute path or a map with path and args",
);

const accountGlob = s.string({
  pattern: /^[a-z_*?][a-z0-9_*?-]*$/,
  expected: "an account name or glob (lowercase letters, digits, _ - * ?)",
});

/**
 * `accounts:` of the broker section: the users and groups `user.*` and `group.*` may create,
 * change and remove (globs), the only groups a user may be put in or taken out of, whether
 * system accounts (ids below 1000) may be touched, and where home directories may be.
 */
export const AccountsPolicy = s.object({
  users: s.optional(s.array(accountGlob), []),
  groups: s.optional(s.array(accountGlob), []),
  system: s.optional(s.boolean(), false),
  homes: s.optional(s.array(absolutePath), ["/home"]),
});

/**
 * `git:` of the broker section: the repository URLs (globs) `git.latest` may clone and fetch,
 * the directories (and below) it may clone into and `git.config_*` may change the config of,
 * and the config keys (globs, lowercase) that make git run a program or read other settings
 * which `git.config_*` may change anyway.
 */
export const GitPolicy = s.object({
  repos: s.optional(s.array(s.string({ minLength: 1 })), []),
  targets: s.optional(s.array(absolutePath), []),
  config_allow: s.optional(
    s.array(s.string({
      pattern: /^[a-z0-9*?][a-z0-9.*?-]*$/,
      expected: "a lowercase git config key or glob (core.hookspath, filter.*)",
    })),
    [],
  ),
});

/**
 * `pip:` of the broker section: the virtualenvs (directories, and below) whose pip may run, and
 * the package index URLs (globs) it may use; `https://pypi.org/simple` is one like any other.
 */
export const PipPolicy = s.object({
  envs: s.optional(s.array(absolutePath), []),
  indexes: s.optional(s.array(s.string({ minLength: 1 })), []),
});

/**
 * The `broker:` section: how the peel starts its broker, and the policy the broker enforces.
 * Everything is denied unless listed here. The broker reads this section itself, from the
 * root-owned file, never from the peel. `exec` lists programs with their argument rules;
 * `cmd_run: allow` permits any shell command, which equals root; `packages` and `services`
 * (unit globs) allow the typed package and unit operations, never a command line;
 * `env_allow` names the only variables a caller may set for a child.
 */
export const BrokerSection = s.object({
  launcher: s.optional(absolutePath, DEFAULT_LAUNCHER),
  idle_timeout: s.optional(duration(), 30_000),
  audit_log: s.optional(absolutePath, "/var/log/zester/broker-audit.log"),
  read_paths: s.optional(s.array(absolutePath), []),
  write_paths: s.optional(s.array(absolutePath), []),
  exec: s.optional(s.array(execEntry), []),
  cmd_run: s.optional(s.literal("allow", "deny"), "deny"),
  packages: s.optional(s.array(s.literal("apt", "dnf", "yum")), []),
  services: s.optional(
    s.array(s.string({
      pattern: /^[A-Za-z0-9*?][A-Za-z0-9+.:~_@*?-]*$/,
      expected: "a unit name or glob (letters, digits, + . : ~ _ @ - * ?; no leading -)",
    })),
    [],
  ),
  run_as: s.optional(
    s.array(s.string({ pattern: /^[a-z_][a-z0-9_-]*\$?$/, expected: "a user name" })),
    [],
  ),
  env_allow: s.optional(
    s.array(s.string({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, expected: "a variable name" })),
    [],
  ),
  max_output: s.optional(s.int({ min: 1024, max: 64 * 1024 * 1024 }), 1024 * 1024),
  /** Modes with setuid or setgid bits (write, chmod, mkdir) are refused unless this is true. */
  allow_setid: s.optional(s.boolean(), false),
  /** Users and groups files may be given (write, chown) besides root. */
  owners: s.optional(
    s.array(s.string({ pattern: /^[a-z_][a-z0-9_-]*\$?$/, expected: "a user or group name" })),
    [],
  ),
  /**
   * Write paths where directories may belong to a non-root user (`/var/www`): there the broker
   * acts as that user, so a race by that user cannot reach beyond what it may already change.
   * Elsewhere it refuses to work in a directory a non-root user could change.
   */
  user_dirs: s.optional(s.array(absolutePath), []),
  /** Operations run at once; later ones wait for a free slot. */
  max_concurrent: s.optional(s.int({ min: 1, max: 1024 }), 16),
  /** Where `backup` keeps copies of replaced files (root only); unset, backups are refused. */
  backup_dir: s.optional(absolutePath),
  /** Whether package installs may skip signature checks (`skip_verify`). */
  allow_unverified_packages: s.optional(s.boolean(), false),
  /** Repository URLs (globs) package repositories may be configured for and removed. */
  repos: s.optional(s.array(s.string({ minLength: 1 })), []),
  /**
   * The root the broker's typed system operations act under (repository files, accounts):
   * `/` on a host, a directory for an image being built or a test.
   */
  system_root: s.optional(absolutePath, "/"),
  accounts: s.optional(AccountsPolicy, AccountsPolicy.parse({})),
  /** Users whose crontab `cron.*` may change (globs). */
  crontabs: s.optional(s.array(accountGlob), []),
  /** Kernel parameters `sysctl.present` may set, at run time and in its config (globs). */
  sysctl: s.optional(
    s.array(s.string({
      pattern: /^[a-z0-9_*?][a-z0-9_.\/*?-]*$/,
      expected: "a sysctl key or glob (net.ipv4.*)",
    })),
    [],
  ),
  /** Whether `timezone.system` may set the time zone. */
  timezone: s.optional(s.boolean(), false),
  /** URLs (globs) `archive.extracted` may download a source from, with curl; none by default. */
  fetch: s.optional(s.array(s.string({ minLength: 1 })), []),
  /**
   * Hosts (globs) `ssh_known_hosts.present` may read public keys from with ssh-keyscan, when a
   * state gives a fingerprint but no key.
   */
  keyscan: s.optional(
    s.array(s.string({
      pattern: /^[A-Za-z0-9_*?:][A-Za-z0-9_.*?:-]*$/,
      expected: "a host name, address or glob (no leading - or .)",
    })),
    [],
  ),
  /** Repositories (URL globs) `git.latest` may clone and fetch, and the directories it may use. */
  git: s.optional(GitPolicy, GitPolicy.parse({})),
  /** Python environments `pip.*` may change, and the package indexes (URL globs) it may use. */
  pip: s.optional(PipPolicy, PipPolicy.parse({})),
});
/** A validated `broker:` section. */
export type BrokerSection = s.Infer<typeof BrokerSection>;

/** The `broker:` section when peel.yaml has none: the launcher, and a policy that denies all. */
export const BROKER_DEFAULTS: BrokerSection = BrokerSection.parse({});

const peelKeys = {
  id: s.string({
    pattern: PEEL_ID_PATTERN,
    expected: "a peel id: a letter or digit, then letters, digits, _ or -, at most 128 characters",
  }),
  ...natsKeys,
  ...logKeys,
  data_dir: s.optional(s.string(), "/var/lib/zester/peel"),
  facts_file: s.optional(s.string(), "/etc/zester/facts"),
  facts_interval: s.optional(duration(), 300_000),
  /** Where `/healthz`, `/readyz` and `/metrics` are served; `off` serves nothing. */
  health_addr: s.optional(listenAddrSchema(), "127.0.0.1:9090"),
  broker: s.optional(BrokerSection, BROKER_DEFAULTS),
  basket: s.optional(BasketSection, BasketSection.parse({})),
  /**
   * The master's enrollment API (`https://master:8443`): a peel without `nats_creds` enrolls
   * there, trusting `nats_ca`, and keeps its key and creds in its data dir.
   */
  master_url: s.optional(s.string({
    pattern: /^https:\/\/(\[[^\]\s]+\]|[^\s:/,\[\]]+)(:\d{1,5})?\/?$/,
    expected: "an https:// URL with no path, such as https://master:8443",
  })),
  /** A bootstrap token for the master's `auto-trusted` policy. */
  enroll_token_file: s.optional(s.string()),
  /** How often a peel waiting for approval asks again. */
  enroll_interval: s.optional(duration(), 10_000),
  /**
   * Scheduled jobs by name (see `lib/schedule/entry.ts`). The scheduler checks each entry on its
   * own and reports a bad one, so a mistake in one never stops the peel or the other entries.
   */
  schedule: s.optional(s.unknown()),
};

/**
 * Validator for `peel.yaml`. Unknown keys are errors; a peel that enrolls (`master_url`
 * without `nats_creds`) must name the CA its master's certificate chains to (`nats_ca`).
 */
export const PeelConfig = s.transform(s.object(peelKeys), (v, path) => {
  if (v.master_url && !v.nats_creds && !v.nats_ca) {
    throw new s.SchemaError(
      path ? `${path}.nats_ca` : "nats_ca",
      "the deployment's CA file, to enroll at master_url",
      undefined,
    );
  }
  return v;
});
/** A validated peel config. */
export type PeelConfig = s.Infer<typeof PeelConfig>;

/**
 * Where the peel's creds are: `nats_creds`, or for a peel that enrolls, `peel.creds` in its
 * data dir (beside its key `peel.nk` and box key `box.key`).
 */
export function peelCredsPath(cfg: PeelConfig): string | undefined {
  return cfg.nats_creds ?? (cfg.master_url ? `${cfg.data_dir}/peel.creds` : undefined);
}

/**
 * `peel.yaml` as the broker reads it for its policy: the same keys, but the broker never
 * connects, so a policy file (`zester call --local --policy`) need not name NATS servers.
 */
export const PeelPolicyFile = s.object({ ...peelKeys, nats_url: s.optional(natsUrls) });
