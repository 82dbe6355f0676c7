/**
 * A module started as the template worker is (`startTemplateWorker`), standing for a template that
 * got JavaScript anyway: it tries each capability and reports how each attempt failed, and whether
 * any permission is granted.
 * @module
 */
const scope = self as unknown as {
  postMessage(m: Record<string, string>): void;
  onmessage: (e: MessageEvent<{ dir: string; deno: string }>) => void;
};

async function attempt(f: () => unknown): Promise<string> {
  try {
    await f();
    return "allowed";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

scope.onmessage = async ({ data: { dir, deno } }) => {
  const names = ["read", "write", "net", "env", "run", "sys", "ffi", "import"] as const;
  const granted = names.filter((name) => Deno.permissions.querySync({ name }).state === "granted");
  scope.postMessage({
    read: await attempt(() => Deno.readDirSync(dir)),
    write: await attempt(() => Deno.writeTextFileSync(`${dir}/written`, "x")),
    net: await attempt(() => Deno.connect({ hostname: "127.0.0.1", port: 9 })),
    env: await attempt(() => Deno.env.get("HOME")),
    run: await attempt(() => new Deno.Command(deno, { args: ["--version"] }).outputSync()),
    sys: await attempt(() => Deno.hostname()),
    ffi: await attempt(() => Deno.dlopen("libc.so.6", {})),
    import: await attempt(() => import(`file://${dir}/mod.ts`)),
    state: granted.length ? `granted: ${granted.join(", ")}` : "none granted",
  });
};
