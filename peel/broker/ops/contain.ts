/**
 * Process containment: what the broker starts dies with it, even when the broker is killed with
 * SIGKILL, and a timeout or cancel kills a command and everything it started.
 *
 * Each command runs as `setpriv --pdeathsig SIGTERM -- setsid /bin/sh -c SUPERVISOR sh argv…`:
 * a shell leading its own session and process group, which the kernel sends SIGTERM when the
 * broker dies, and which then kills its whole group with SIGKILL. It runs the command in the
 * background of that group, exits with its status, and sends SIGTERM to whatever the command
 * left behind in the group. A timeout or cancel kills the group. A process that leaves the group
 * on purpose (`setsid`, a daemon starting) lives on: that is how a command starts a service.
 *
 * A PID namespace (`unshare --pid --fork --kill-child`) would also catch those, but inside one a
 * command can neither signal the host's processes (`nginx -s reload`, `kill -HUP $(cat pid)`,
 * `pkill` all fail with "No such process") nor start a daemon that outlives it; and a root
 * command can leave one anyway (through systemd, or `nsenter`). So the broker does not use one.
 * @module
 */
import type { Account } from "./accounts.ts";

const SETPRIV = "/usr/bin/setpriv";
const SETSID = "/usr/bin/setsid";
/**
 * Runs "$@" in the background of its group (with the shell's stdin, which an asynchronous command
 * would not get), kills the whole group on SIGTERM, and sends the group SIGTERM when "$@" exits;
 * exits with the status of "$@", or 127 saying so when there is no such program.
 */
const SUPERVISOR = [
  "unset PWD", // The shell's own; the command's environment is exactly the one given.
  'trap "kill -KILL 0" TERM',
  'command -v "$1" >/dev/null || { echo "$1: No such file or directory" >&2; exit 127; }',
  "exec 3<&0",
  '"$@" <&3 3<&- &',
  "exec 3<&-",
  "wait $!",
  "s=$?",
  'trap "" TERM',
  "kill -TERM 0",
  "exit $s",
].join("\n");

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
  /** SIGKILL the command and its process group; a no-op once the command has exited. */
  kill(): void;
}

/** Start `argv` contained (see the module doc); throws what `Deno.Command` throws. */
export function spawnContained(argv: readonly string[], opts: ContainedOptions): Contained {
  const as = opts.user
    ? [SETPRIV, `--reuid=${opts.user.uid}`, `--regid=${opts.user.gid}`, "--init-groups", "--"]
    : [];
  const child = new Deno.Command(SETPRIV, {
    args: ["--pdeathsig", "SIGTERM", "--", SETSID, "/bin/sh", "-c", SUPERVISOR, "sh", ...as]
      .concat(argv),
    cwd: opts.cwd ?? "/",
    env: opts.env,
    clearEnv: true,
    stdin: opts.stdin ?? "null",
    stdout: opts.stdout ?? "piped",
    stderr: opts.stderr ?? "piped",
  }).spawn();
  // Once the supervisor has exited its group id may be reused: killing it then could hit others.
  let exited = false;
  child.status.then(() => exited = true);
  return {
    child,
    kill() {
      if (exited) return;
      // Right after the spawn, the child may not have made its group yet (setsid has not run):
      // then the group kill finds nothing, so kill the child itself, and the group once more in
      // case it was made meanwhile. A cancel at once would otherwise leave the command running.
      const killed = (target: number) => {
        try {
          Deno.kill(target, "SIGKILL");
          return true;
        } catch {
          return false;
        }
      };
      if (killed(-child.pid)) return;
      killed(child.pid);
      killed(-child.pid);
    },
  };
}
