/**
 * NATS `.creds` files: a user JWT and the user's nkey seed in the standard armour nats-server's
 * clients read, written 0600 and refused when others may read them.
 * @module
 */

/** A user's credentials. */
export interface Creds {
  /** The user JWT. */
  jwt: string;
  /** The user's nkey seed (`SU…`). */
  seed: string;
}

/** A creds file that cannot be used: malformed, or readable by others. */
export class CredsError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CredsError";
  }
}

/** The text of a `.creds` file, as `nsc` writes it. */
export function formatCreds({ jwt, seed }: Creds): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------

*************************************************************
`;
}

const BLOCK = /-{3,}[^\n]*-{3,}\n\s*([^\s-][^\n]*)\n\s*-{3,}[^\n]*-{3,}/g;

/** Read the JWT and seed of a `.creds` text; `file` names it in errors. */
export function parseCreds(text: string, file = "creds"): Creds {
  const [jwt, seed] = [...text.matchAll(BLOCK)].map((m) => m[1]!.trim());
  if (!jwt || !seed || jwt.split(".").length !== 3 || !seed.startsWith("SU")) {
    throw new CredsError(`Invalid creds file "${file}": expected a user JWT and a user nkey seed`);
  }
  return { jwt, seed };
}

/** Write `creds` to `path`, readable by its owner only. */
export async function writeCredsFile(path: string, creds: Creds): Promise<void> {
  await writePrivateFile(path, formatCreds(creds));
}

/** Write a secret (creds, seed, private key) to `path` with mode 0600, even over an old file. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}

/**
 * Read the creds at `path`. A file that others may read or write is refused; one its group may
 * read is used, and `warn` is told.
 */
export async function readCredsFile(path: string, warn?: (msg: string) => void): Promise<Creds> {
  await checkPrivateFile(path, "creds", CredsError, { group: warn ?? (() => {}) });
  return parseCreds(await Deno.readTextFile(path), path);
}

/**
 * Refuse the secret file at `path` (`kind` names it in the message: "creds", "seed") with
 * `error` when users other than its owner may read it. With `group`, a file its group may read
 * is used and `group` is told instead.
 */
export async function checkPrivateFile(
  path: string,
  kind: string,
  error: new (message: string) => Error,
  { group }: { group?: (msg: string) => void } = {},
): Promise<void> {
  const { mode } = await Deno.stat(path);
  if (mode === null) return;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  if ((mode & (group ? 0o007 : 0o077)) !== 0) {
    throw new error(
      `Refusing ${kind} file "${path}": mode ${octal} lets others read it; chmod 600 it`,
    );
  }
  if ((mode & 0o070) !== 0) {
    group?.(`${kind} file "${path}" has mode ${octal}: its group can read it`);
  }
}
