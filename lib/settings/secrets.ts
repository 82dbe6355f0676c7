/**
 * Where secrets meet settings: the master sanitizes each file before it leaves for
 * `settings-files`, and a peel resolves sealed values after it renders its settings. Until
 * sealed secrets land, a file with an `!encrypted` value is refused and resolving changes
 * nothing.
 * @module
 */

/** A settings file the master must not publish as it is. */
export class UnsupportedSecretError extends TypeError {
  /** Build the error for settings file `path`. */
  constructor(path: string) {
    super(`Cannot publish settings file "${path}": secrets are not supported yet (!encrypted)`);
    this.name = "UnsupportedSecretError";
  }
}

/** An `!encrypted` tag where YAML reads a tag: not inside a quoted string. */
const TAG = /(^|[\s:\-[{,])!encrypted(\s|$)/m;
const QUOTED = /'[^'\n]*'|"(?:[^"\\\n]|\\.)*"/g;

/**
 * The text of settings file `path` as peels may read it in `settings-files`. Throws
 * {@linkcode UnsupportedSecretError} for a file holding an `!encrypted` value.
 */
export function sanitizeSettingsFile(path: string, text: string): string {
  if (TAG.test(text.replace(QUOTED, "''"))) throw new UnsupportedSecretError(path);
  return text;
}

/** A peel's rendered settings with its sealed values opened; nothing is sealed yet. */
export function resolveSecrets(settings: Record<string, unknown>): Record<string, unknown> {
  return settings;
}
