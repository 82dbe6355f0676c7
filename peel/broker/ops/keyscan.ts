/**
 * `ssh.keyscan`: a host's public SSH keys, read with ssh-keyscan for `ssh_known_hosts.present`
 * when a state gives a fingerprint (or nothing) instead of a key. The host must match the
 * policy's `keyscan` globs and be a plain name or address, which ssh-keyscan cannot read as an
 * option (it takes no `--`); the argv is fixed and ssh-keyscan runs as `nobody` when there is
 * one. Equals trusting what answers at that name from this host's network, unless the state's
 * fingerprint is checked against it.
 * @module
 */
import * as s from "../../../lib/schema/mod.ts";
import { globToRegExp } from "../glob.ts";
import { user } from "./accounts.ts";
import { defineOp } from "./op.ts";
import { BrokerError } from "../protocol.ts";
import { BASE_ENV, execute } from "./run.ts";

const KEYSCAN = "/usr/bin/ssh-keyscan";

/** A host name or IP address as ssh-keyscan may get it: never starting with `-` or `.`. */
export const SSH_HOST =
  /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|(?=[0-9A-Fa-f:.]*:)[0-9A-Fa-f:][0-9A-Fa-f:.]{1,44})$/;

/** The key types ssh-keyscan's `-t` takes. */
export const KEYSCAN_TYPES = ["rsa", "dsa", "ecdsa", "ed25519", "ecdsa-sk", "ed25519-sk"] as const;

/** `ssh.keyscan`: the keys `host` presents, as `{enc, key}` (none when it did not answer). */
export const sshKeyscanOp = defineOp({
  auditsItself: true,
  args: s.object({
    host: s.string({ pattern: SSH_HOST, expected: "a host name or IP address" }),
    port: s.optional(s.int({ min: 1, max: 65535 })),
    type: s.optional(s.literal(...KEYSCAN_TYPES)),
    timeout: s.optional(s.int({ min: 1, max: 300 }), 5),
  }),
  async run(a, ctx) {
    if (!ctx.policy.section.keyscan.some((g) => globToRegExp(g).test(a.host))) {
      throw new BrokerError("denied", `Denied by policy: host "${a.host}" is not in keyscan`);
    }
    const as = await user("nobody").catch(() => undefined);
    ctx.intent({ host: a.host, port: a.port, as_user: as?.name });
    const r = await execute({
      argv: [
        KEYSCAN,
        "-T",
        String(a.timeout),
        ...(a.port ? ["-p", String(a.port)] : []),
        ...(a.type ? ["-t", a.type] : []),
        a.host,
      ],
      env: { ...BASE_ENV },
      user: as,
      timeoutMs: a.timeout * 1000 * (KEYSCAN_TYPES.length + 1),
      maxOutput: ctx.policy.section.max_output,
    }, ctx);
    const keys = r.stdout.split("\n").flatMap((l) => {
      const [, enc, key] = l.trim().split(/\s+/);
      return l.startsWith("#") || !enc || !key ? [] : [{ enc, key }];
    });
    return { keys, error: keys.length ? undefined : r.stderr.trim() || undefined };
  },
});
