/**
 * Process containment: every process the broker starts dies with it, even when the broker is
 * killed with SIGKILL, and a timeout or cancel kills a command and everything it started.
 *
 * Where the kernel allows PID namespaces (root with CAP_SYS_ADMIN), a command runs as
 * `setpriv --pdeathsig SIGKILL -- unshare --pid --fork --kill-child -- setsid --fork --wait …`:
 * `unshare` dies with the broker (parent-death signal), its forked child — the namespace's init,
 * a root `setsid` that only waits — dies with `unshare`, and the kernel kills every process left
 * in a namespace whose init is gone, however they daemonised. Killing `unshare` is the kill.
 *
 * Elsewhere (a container without CAP_SYS_ADMIN) the command runs under a shell in its own
 * session that receives SIGTERM when the broker dies and then kills its process group; a
 * process that leaves the group (`setsid`) escapes, which only a PID namespace prevents.
 *
 * Either way nothing a command leaves behind outlives it: the namespace ends with the command,
 * and the shell sends the group SIGTERM once the command has exited.
 * @module
 */
import type { Account } from "./accounts.ts";

const SETPRIV = "/usr/bin/setpriv";
const UNSHARE = "/usr/bin/unshare";
const SETSID = "/usr/bin/setsid";
const NAMESPACE = ["--pid", "--fork", "--kill-child=SIGKILL"];
/**
 * Runs "$@" in the background (keeping stdin), kills its whole group on SIGTERM, and sends the
 * group SIGTERM when "$@" exits; exits with the status of "$@".
 */
const SUPERVISOR =
  'trap "kill -KILL 0" TERM; "$@" <&0 & wait $!; s=$?; trap "" TERM; kill -TERM 0; exit $s';

/** How children are contained: a PID namespace, or a supervised process group. */
export type Containment = "pid_namespace" | "process_group";

let probed: Containment | undefined;

/** How this broker contains its children: probed once, by starting a PID namespace. */
export function containment(): Containment {
  probed ??= new Deno.Command(UNSHARE, {
      args: [...NAMESPACE, "/usr/bin/true"],
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().success
    ? "pid_namespace"
    : "process_group";
  return probed;
}

/** Options of {@linkcode spawnContained}: those of `Deno.Command` the broker uses, and a user. */
export interface ContainedOptions {
  /** Run as this user, with its groups. */
  user?: Account;
  /** Working directory; `/` when not given, never the broker's. */
  cwd?: string;
  /** The whole environment of the child. */
  env: Record<string, string>;
  stdin?: "piped" | "null";
  stdout?: "piped" | "null";
  stderr?: "piped" | "null";
}

/** A contained child and the kill that reaches everything it started. */
export interface Contained {
  child: Deno.ChildProcess;
  /** SIGKILL the command and all its descendants; a no-op once they are gone. */
  kill(): void;
}

/** The argv that runs `argv` contained as `mode` says, as `user` when given. */
export function containedArgv(argv: readonly string[], user?: Account, mode = containment()) {
  const as = user
    ? [SETPRIV, `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--"]
    : [];
  return mode === "pid_namespace"
    ? [SETPRIV, "--pdeathsig", "SIGKILL", "--", UNSHARE, ...NAMESPACE, "--"]
      .concat(SETSID, "--fork", "--wait", ...as, ...argv)
    : [SETPRIV, "--pdeathsig", "SIGTERM", "--", SETSID, "/bin/sh", "-c", SUPERVISOR, "sh"]
      .concat(...as, ...argv);
}

/** Start `argv` contained (see the module doc); throws what `Deno.Command` throws. */
export function spawnContained(
  argv: readonly string[],
  opts: ContainedOptions,
  mode: Containment = containment(),
): Contained {
  const [cmd, ...args] = containedArgv(argv, opts.user, mode);
  const child = new Deno.Command(cmd!, {
    args,
    cwd: opts.cwd ?? "/",
    env: opts.env,
    clearEnv: true,
    stdin: opts.stdin ?? "null",
    stdout: opts.stdout ?? "piped",
    stderr: opts.stderr ?? "piped",
  }).spawn();
  // In a namespace the kernel takes everything down with unshare; otherwise the group goes.
  // Once the child has exited the rest is gone too, and its pid may already be another's.
  const target = mode === "pid_namespace" ? child.pid : -child.pid;
  let exited = false;
  child.status.then(() => exited = true);
  return {
    child,
    kill() {
      if (exited) return;
      try {
        Deno.kill(target, "SIGKILL");
      } catch { /* already gone */ }
    },
  };
}
