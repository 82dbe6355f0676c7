/**
 * `zester backup create <dir>` and `zester backup restore <dir>`: every bucket and stream to
 * files and back (see `lib/bus/backup.ts` for what is and is not kept). The CLI has no write
 * permission, so `create` runs with its own flags (`deno task backup`, or
 * {@linkcode backupPermissionFlags}), which grant writes under the backup directory only.
 * @module
 */
import type { NatsConnection } from "nats";
import {
  BackupError,
  type BackupManifest,
  createBackup,
  type RestoreResult,
} from "../../lib/bus/mod.ts";
import { backupPermissionFlags, type CliConfig } from "../../lib/config/mod.ts";

/** Back up into `dir`, explaining the flags it needs when the CLI may not write there. */
export async function backupCreate(
  nc: NatsConnection,
  cfg: CliConfig,
  dir: string,
): Promise<BackupManifest> {
  try {
    return await createBackup(nc, dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
    throw new BackupError(
      `Cannot write "${dir}": zester backup create needs ${
        backupPermissionFlags(cfg, dir).join(" ")
      }`,
      { cause: e },
    );
  }
}

/** What a backup holds, for people. */
export function renderBackup(dir: string, m: BackupManifest): string {
  return [
    `Backup written to ${dir} (${m.created}):`,
    ...m.streams.map((s) => `  ${s.name}: ${s.messages} messages`),
  ].join("\n");
}

/** What a restore did, for people. */
export function renderRestore(dir: string, results: RestoreResult[]): string {
  return [
    `Restored from ${dir}:`,
    ...results.map((r) =>
      `  ${r.stream}: ${r.restored} messages${
        r.expired ? `, ${r.expired} past max age left out` : ""
      }`
    ),
  ].join("\n");
}
