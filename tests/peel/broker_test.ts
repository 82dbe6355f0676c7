/** The broker as the peel drives it: a real launcher script and real broker processes. */
import assert from "node:assert/strict";
import { BrokerClient, BrokerError, encodeFrame, readFrames } from "../../peel/broker/mod.ts";
import type { RunResult } from "../../peel/broker/mod.ts";
import { Logger } from "../../lib/log/mod.ts";
import { decode } from "../../lib/bus/mod.ts";
import {
  devBrokerPolicy,
  pidsOf,
  tempDir,
  uniqueSleep,
  until,
  writeDevLauncher,
  writeYaml,
} from "../harness/mod.ts";

/** Write a peel.yaml whose broker section is the dev policy plus `broker`, and its launcher. */
async function setup(base: string, broker: Record<string, unknown> = {}): Promise<string> {
  await Deno.mkdir(`${base}/files`, { recursive: true });
  const policy = {
    ...devBrokerPolicy(base),
    exec: [
      "/usr/bin/env",
      "/usr/bin/cat",
      { path: "/usr/bin/sleep", args: [["*"]] },
      "/usr/bin/true",
      "/no/such/program",
    ],
    env_allow: ["GREETING"],
    ...broker,
  };
  await writeYaml(`${base}/peel.yaml`, { id: "test-peel", broker: policy });
  return await writeDevLauncher(`${base}/zester-broker`, `${base}/peel.yaml`);
}

const quiet = new Logger({ level: "error", sink: () => {} });

async function withClient(
  fn: (c: BrokerClient, base: string) => Promise<void>,
  opts: { idleTimeoutMs?: number; args?: string[]; broker?: Record<string, unknown> } = {},
): Promise<void> {
  await using dir = await tempDir();
  const launcher = await setup(dir.path, opts.broker);
  const c = new BrokerClient({
    launcher,
    idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
    args: opts.args,
    log: quiet,
  });
  try {
    await fn(c, dir.path);
  } finally {
    await c.close();
  }
}

/** Wait until no process runs `commandLine` (killing takes a moment under load); what is left. */
async function gone(commandLine: string, ms = 5_000): Promise<number[]> {
  const until = Date.now() + ms;
  while (pidsOf(commandLine).length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return pidsOf(commandLine);
}

async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

Deno.test("broker - run returns stdout, stderr and exit code", async () => {
  await withClient(async (c) => {
    const r = await c.request("run", {
      argv: ["/bin/sh", "-c", "echo out; echo err >&2; exit 5"],
    }) as RunResult;
    assert.equal(r.retcode, 5);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    assert.equal(r.timed_out, false);
    const cat = await c.request("run", {
      argv: ["/usr/bin/cat"],
      stdin: "fed through stdin",
    }) as RunResult;
    assert.equal(cat.stdout, "fed through stdin");
  });
});

Deno.test("broker - child environment is built, not inherited; LD_* refused", async () => {
  Deno.env.set("ZESTER_TEST_SECRET", "leaked");
  try {
    await withClient(async (c) => {
      const r = await c.request("run", {
        argv: ["/usr/bin/env"],
        env: { GREETING: "hi" },
      }) as RunResult;
      assert.match(r.stdout, /^GREETING=hi$/m);
      assert.match(r.stdout, /^PATH=/m);
      assert.doesNotMatch(r.stdout, /ZESTER_TEST_SECRET/);
      await rejectsWith(
        c.request("run", { argv: ["/usr/bin/true"], env: { LD_PRELOAD: "/tmp/evil.so" } }),
        "denied",
        /environment variable "LD_PRELOAD" is not allowed/,
      );
      await rejectsWith(
        c.request("run", { argv: ["/usr/bin/true"], env: { "A=B": "x" } }),
        "bad_request",
      );
    });
  } finally {
    Deno.env.delete("ZESTER_TEST_SECRET");
  }
});

Deno.test("broker - a timeout kills the command and everything it started", async () => {
  await withClient(async (c) => {
    const marker = uniqueSleep(31);
    const r = await c.request("run", {
      argv: ["/bin/sh", "-c", `${marker} & ${marker}; echo never`],
      timeout_ms: 300,
      // The broker's own timeout is under test; a cold start on a busy machine takes seconds.
    }, { timeoutMs: 10_000 }) as RunResult;
    assert.equal(r.timed_out, true);
    assert.notEqual(r.retcode, 0);
    assert.doesNotMatch(r.stdout, /never/);
    assert.deepEqual(await gone(marker), [], "no process of the group survives");
  });
});

Deno.test("broker - cancel through an AbortSignal", async () => {
  await withClient(async (c) => {
    const ac = new AbortController();
    const sleep = uniqueSleep(27);
    const p = c.request("run", { argv: sleep.split(" ") }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    await rejectsWith(p, "canceled");
    assert.deepEqual(await gone(sleep), []);
  });
});

Deno.test("broker - finished requests leave no abort listener on a long-lived signal", async () => {
  await withClient(async (c) => {
    const ac = new AbortController();
    const live = new Set<EventListener>();
    const signal = ac.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((type: string, l: EventListener, o?: AddEventListenerOptions) => {
      live.add(l);
      add(type, l, o);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((type: string, l: EventListener) => {
      live.delete(l);
      remove(type, l);
    }) as typeof signal.removeEventListener;
    for (let i = 0; i < 20; i++) {
      await c.request("run", { argv: ["/usr/bin/true"] }, { signal });
    }
    assert.equal(live.size, 0, "every listener is removed when its request settles");
    const sleep = uniqueSleep(31);
    const p = c.request("run", { argv: sleep.split(" ") }, { signal });
    assert.equal(live.size, 1);
    ac.abort();
    await rejectsWith(p, "canceled");
    assert.equal(live.size, 0);
    assert.deepEqual(await gone(sleep), []);
  });
});

Deno.test("broker - a cancel sent right after the request leaves no command running", async () => {
  await withClient(async (c) => {
    const sleeps: string[] = [];
    for (let i = 0; i < 10; i++) {
      const ac = new AbortController();
      const sleep = uniqueSleep(31);
      sleeps.push(sleep);
      const p = c.request("run", { argv: sleep.split(" ") }, { signal: ac.signal });
      // Each later request's cancel lands a little later in the spawn.
      await new Promise((r) => setTimeout(r, i * 3));
      ac.abort();
      await rejectsWith(p, "canceled");
    }
    for (const sleep of sleeps) assert.deepEqual(await gone(sleep), [], sleep);
  });
});

Deno.test("broker - unknown op and bad arguments are typed errors", async () => {
  await withClient(async (c) => {
    await rejectsWith(
      c.request("format_disk", {}),
      "unknown_op",
      /Unknown operation "format_disk"/,
    );
    await rejectsWith(c.request("run", { argv: "ls" }), "bad_request", /field "args.argv"/);
    await rejectsWith(c.request("run", { argv: ["/no/such/program"] }), "failed", /Cannot run/);
  });
});

Deno.test("broker - a killed broker fails in-flight requests and the next one starts a new broker", async () => {
  await withClient(async (c) => {
    const first = await c.request("ping", {}) as { pid: number };
    const p = c.request("run", { argv: ["/usr/bin/sleep", "5"] });
    await new Promise((res) => setTimeout(res, 200));
    Deno.kill(c.pid!, "SIGKILL");
    await rejectsWith(p, "broker_crashed", /killed by SIGKILL/);
    const second = await c.request("ping", {}) as { pid: number };
    assert.notEqual(second.pid, first.pid);
  });
});

Deno.test("broker - an idle broker exits", async () => {
  await withClient(async (c) => {
    await c.request("ping", {});
    const pid = c.pid!;
    assert.equal(c.running, true);
    await until("the idle broker to exit", () => !c.running, 5_000);
    assert.throws(() => Deno.kill(pid, "SIGCONT"), "the process is gone");
  }, { idleTimeoutMs: 200 });
});

Deno.test("broker - arguments from the peel never become Deno flags", async () => {
  await withClient(async (c) => {
    const r = await c.request("ping", {}) as { net: string };
    assert.notEqual(r.net, "granted", "the broker has no network permission");
  }, { args: ["--allow-all", "--allow-net", "-A"] });
});

Deno.test("broker - garbage on stdin gets error frames and the broker keeps answering", async () => {
  await using dir = await tempDir();
  const launcher = await setup(dir.path);
  const child = new Deno.Command(launcher, { stdin: "piped", stdout: "piped", stderr: "null" })
    .spawn();
  const w = child.stdin.getWriter();
  const frames = readFrames(child.stdout);
  const next = async () => decode((await frames.next()).value!) as Record<string, unknown>;
  try {
    const junk = new Uint8Array([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]);
    await w.write(junk);
    const bad = await next();
    assert.equal(bad.ok, false);
    assert.equal((bad.error as { code: string }).code, "bad_frame");
    await w.write(encodeFrame({ id: 9, op: 42 }));
    const invalid = await next();
    assert.equal(invalid.id, 9);
    assert.equal((invalid.error as { code: string }).code, "bad_request");
    await w.write(encodeFrame({ id: 10, op: "ping", args: {} }));
    const pong = await next();
    assert.equal(pong.id, 10);
    assert.equal(pong.ok, true);
  } finally {
    await w.close();
    await frames.return(undefined);
    assert.equal((await child.status).code, 0);
  }
});

Deno.test("broker - frames split across chunks and packed together", async () => {
  const a = encodeFrame({ n: 1 });
  const b = encodeFrame({ n: 2, s: "x".repeat(300) });
  const all = new Uint8Array([...a, ...b]);
  const chunks = [
    all.slice(0, 2),
    all.slice(2, 7),
    all.slice(7, a.length + 10),
    all.slice(a.length + 10),
  ];
  const stream = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(c);
      ctl.close();
    },
  });
  const got = [];
  for await (const f of readFrames(stream)) got.push(decode(f));
  assert.deepEqual(got, [{ n: 1 }, { n: 2, s: "x".repeat(300) }]);
  const huge = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
      ctl.close();
    },
  });
  await assert.rejects(async () => {
    for await (const _ of readFrames(huge)) { /* nothing */ }
  }, /over the 16777216-byte limit/);
});

Deno.test("broker - a large frame in many small chunks is read in linear time", async () => {
  const body = new Uint8Array(2 * 1024 * 1024).map((_, i) => i % 251);
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength);
  frame.set(body, 4);
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (at >= frame.byteLength) return ctl.close();
      ctl.enqueue(frame.subarray(at, at + 32));
      at += 32;
    },
  });
  const t0 = performance.now();
  const got = [];
  for await (const f of readFrames(stream)) got.push(f);
  const ms = performance.now() - t0;
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], body);
  assert.ok(ms < 3_000, `65536 chunks took ${Math.round(ms)} ms`);
});

Deno.test("broker - at most max_concurrent operations run at once; the others wait", async () => {
  await withClient(async (c) => {
    const t0 = performance.now();
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() => c.request("run", { argv: ["/usr/bin/sleep", "0.4"] })),
    ) as RunResult[];
    const ms = performance.now() - t0;
    assert.deepEqual(runs.map((r) => r.retcode), [0, 0, 0, 0]);
    assert.ok(ms >= 800, `four 0.4 s runs two at a time took ${Math.round(ms)} ms`);
  }, { broker: { max_concurrent: 2 } });
});

Deno.test("broker - a command can signal processes outside its own group", async () => {
  await withClient(async (c) => {
    const r = await c.request("run", {
      argv: ["/bin/sh", "-c", `kill -0 ${Deno.pid} && echo seen`],
    }) as RunResult;
    assert.equal(r.stdout, "seen\n", r.stderr);
  });
});
