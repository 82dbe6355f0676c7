/**
 * What each built key of `master.yaml` and `peel.yaml` does, in one line, for the generated
 * `docs/configuration.md` (planned keys carry theirs in `planned.ts`). Kept apart from the
 * schemas; a test fails when a key of a schema has no line here.
 * @module
 */

const NATS = {
  nats_url:
    "NATS server URL, or a list; `tls://` anywhere, `nats://` only to loopback unless `insecure`",
  nats_creds: "NATS user credentials file (JWT and nkey seed)",
  nats_ca: "CA bundle that signed the NATS server's certificate",
  nats_cert: "Client certificate for mutual TLS",
  nats_key: "Client certificate key for mutual TLS",
  insecure: "Allow `nats://` (plain text) to a non-loopback server; logged as a warning",
  log_level: "Lowest level logged: debug, info, warn or error",
  log_format: "`json` (one object a line) or `text` (key=value)",
};

/** One line per built key, by daemon and dotted key. */
export const KEY_MEANINGS: Readonly<Record<"master" | "peel", Readonly<Record<string, string>>>> = {
  master: {
    id: "Instance id (job owner, heartbeat key); a random `master-…` id when unset",
    ...NATS,
    states_dir: "State tree the master publishes to `state-files`; must exist and be readable",
    settings_dir: "Settings tree, published to `settings-files` with its sealed values taken out",
    settings_merging_strategy:
      "How settings files merge, as Salt's `pillar_source_merging_strategy`: smart, recurse, aggregate, overwrite or none; published with the tree",
    settings_merge_lists:
      "Concatenate lists when settings files merge instead of replacing them, as Salt's `pillar_merge_lists`",
    enroll:
      "The enrollment API peels enroll through (TLS 1.3); without it, creds are issued by hand",
    "enroll.addr": "HTTPS listener of the enrollment API (`host:port`); granted from here",
    "enroll.tls_cert": "Certificate of the enrollment listener, from the deployment's CA",
    "enroll.tls_key": "Key of that certificate",
    "enroll.policy":
      "How new peels are approved: `manual` (zester key accept), `auto-trusted` (bootstrap token) or `auto-all`",
    "enroll.auto_accept": "Peel id globs approved at once, whatever the policy",
    "enroll.bootstrap_token_file": "The token `auto-trusted` peels present; read at every request",
    "enroll.account_signing_key": "Account signing key (nkey seed) that signs peels' user JWTs",
    "enroll.operator_signing_key":
      "Operator signing key that signs the account JWT carrying revocations (the operator key stays offline)",
    "enroll.system_creds": "System account creds, to push the account JWT to the servers",
    box_key_file:
      "The master's box key (0600, from `zester init`): opens `!encrypted` settings values and seals them per peel",
    health_addr:
      "Where /healthz, /readyz and /metrics are served (`off`: nowhere); granted from here",
    job_timeout: "A job's timeout when the CLI asks for none and `job_timeouts` names none",
    job_timeouts:
      "Timeouts by function over the defaults (state.apply 5m, state.sls 5m, state.highstate 10m)",
    max_job_timeout: "The longest timeout a CLI may ask for (`--job-timeout`)",
    heartbeat_interval:
      "How often the master beats in `master-heartbeat`; silent for 2 beats, it is taken for stopped",
    storage_replicas:
      "Servers of a NATS cluster that keep each bucket and stream when it is created (3 survives losing one)",
    retention:
      "Limits by bucket or stream name (`max_age`, `history`, `max_bytes`, `replicas`), applied when it is created; see Retention",
    peel_expiry: "A peel whose facts were not refreshed for this long leaves the index",
    nodegroups: "Named groups for `N@`: a compound expression, or a list of ids or tokens",
  },
  peel: {
    id: "Peel id: a letter or digit, then letters, digits, `_` or `-`; at most 128 characters",
    ...NATS,
    data_dir: "The only directory the peel writes: its job journal and state mirror",
    master_url:
      "The master's enrollment API (`https://master:8443`): a peel without nats_creds enrolls there",
    enroll_token_file: "Bootstrap token presented to an `auto-trusted` master",
    enroll_interval: "How often a peel waiting for approval asks again",
    schedule:
      "Functions the peel runs on its own: interval or 5-field cron, splay, maxrunning, run_on_start, return_job",
    basket: "What the peel publishes into the basket (Salt's mine), and how often",
    "basket.interval": "Minutes between publications (as Salt's mine_interval), or a duration",
    "basket.functions": "Salt's mine_functions: `function: [args]` or `alias: {mine_function: …}`",
    health_addr:
      "Where /healthz, /readyz and /metrics are served (`off`: nowhere); granted from here",
    facts_file: "Custom facts (YAML), merged at the root of the collected ones",
    facts_interval: "How often facts are collected and sent",
    broker: "The broker: how the peel starts it, and the policy it enforces (root-owned file)",
    "broker.launcher": "The one program the peel may run: the broker's launcher",
    "broker.idle_timeout": "The broker exits when idle this long",
    "broker.audit_log": "Where the broker records every operation before it acts",
    "broker.read_paths": "Paths files may be read under",
    "broker.write_paths": "Paths files may be written under",
    "broker.exec": "Programs by absolute path, each with the argument lists (globs) it may get",
    "broker.cmd_run": "`allow` lets `cmd.run` run any shell command (root), `deny` refuses it",
    "broker.packages": "Package managers the typed package operations may use (apt, dnf, yum)",
    "broker.services": "systemd units (globs) the typed service operations may act on",
    "broker.run_as": "Users commands may run as",
    "broker.env_allow": "The only environment variables a caller may set for a command",
    "broker.max_output": "Most bytes of a command's output kept",
    "broker.allow_setid": "Allow modes with setuid or setgid bits",
    "broker.owners": "Users and groups files may be given besides root",
    "broker.user_dirs":
      "Write paths where directories may belong to a user the broker then acts as",
    "broker.max_concurrent": "Operations run at once; later ones wait",
    "broker.backup_dir":
      "Where `backup` keeps copies of replaced files; unset, backups are refused",
    "broker.allow_unverified_packages": "Allow package installs that skip signature checks",
    "broker.repos": "Repository URLs (globs) package repositories may be configured for",
    "broker.system_root": "Root the typed system operations act under (`/` on a host)",
    "broker.accounts": "Users and groups `user.*` and `group.*` may manage",
    "broker.accounts.users": "User names (globs) that may be created, changed and removed",
    "broker.accounts.groups": "Group names (globs) that may be created, changed and removed",
    "broker.accounts.system": "Allow touching system accounts (ids below 1000)",
    "broker.accounts.homes": "Where home directories may be",
    "broker.crontabs": "Users (globs) whose crontab `cron.*` may change",
    "broker.sysctl": "Kernel parameters (globs) `sysctl.present` may set",
    "broker.timezone": "Allow `timezone.system` to set the time zone",
    "broker.fetch": "URLs (globs) `archive.extracted` may download a source from; none by default",
    "broker.git": "What `git.latest` may clone and fetch, and where",
    "broker.git.repos": "Repository URLs (globs) `git.latest` may clone and fetch",
    "broker.git.targets": "Directories (and below) `git.latest` may clone into",
    "broker.git.config_allow":
      "git config keys `git.config_set` may set although they run code (core.sshCommand, core.hooksPath…)",
    "broker.keyscan":
      "Hosts (globs) `ssh_known_hosts.present` may ask for their keys with ssh-keyscan",
    "broker.pip": "What `pip.*` may change, and from where",
    "broker.pip.envs": "Python environments (directories, and below) whose pip may run",
    "broker.pip.indexes": "Package index URLs (globs) pip may use",
  },
};
