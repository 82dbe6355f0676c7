/**
 * A throwaway system root with account databases (`etc/passwd`, `group`, `shadow`,
 * `gshadow`, `login.defs`) holding only root, a system user and a few system groups, for the
 * account states to act on with `useradd --prefix` and friends — never this machine's own.
 * @module
 */

/** Make `<dir>/root` with its account files; returns its path. */
export async function accountRoot(dir: string): Promise<string> {
  const root = `${dir}/root`;
  await Deno.mkdir(`${root}/etc`, { recursive: true });
  await Deno.mkdir(`${root}/home`);
  // Accounts act as their users in their homes: the path there must be traversable.
  await Deno.chmod(dir, 0o755);
  const files: Record<string, string> = {
    passwd:
      "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n",
    group: "root:x:0:\nsudo:x:27:\nwww-data:x:33:\nusers:x:100:\n",
    shadow: "root:*:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\n",
    gshadow: "root:*::\nsudo:*::\nwww-data:*::\nusers:*::\n",
    "login.defs": "UID_MIN 1000\nUID_MAX 60000\nGID_MIN 1000\nGID_MAX 60000\nUSERGROUPS_ENAB yes\n",
  };
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${root}/etc/${name}`, text, {
      mode: name.includes("shadow") ? 0o640 : 0o644,
    });
  }
  return root;
}

/** This machine's account databases, to show a test left them alone. */
export async function hostAccounts(): Promise<string> {
  const read = (f: string) => Deno.readTextFile(f).catch(() => "");
  return (await Promise.all(["/etc/passwd", "/etc/group"].map(read))).join("\n---\n");
}
