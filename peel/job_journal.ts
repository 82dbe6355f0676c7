/**
 * What a peel remembers of the jobs it received, kept in its data dir so that a restart keeps
 * it: every job it started (written to disk before the job runs, so no job runs twice), which
 * of those finished, and its recent returns, to send again when a master asks. A job started
 * and never finished was cut short by a restart: its outcome is unknown.
 *
 * `<dir>/seen` is a log of lines `S <jid> <deadline ms>` (started) and `D <jid>` (done),
 * compacted at open and as it grows; `<dir>/returns/<jid>` holds one encoded return each.
 * Entries are forgotten a day after their deadline: by then no master asks about them, and a
 * request that late is refused by its deadline.
 * @module
 */
import { JID_PATTERN } from "../lib/bus/mod.ts";
import type { ReturnOutcome } from "../lib/job/mod.ts";
import type { Logger } from "../lib/log/mod.ts";

/** A return as kept: its encoded bytes and how it went. */
export interface Kept {
  data: Uint8Array;
  outcome: ReturnOutcome;
}

interface Entry {
  deadline: number;
  done: boolean;
}

/** How many recent returns a peel keeps for a master's repeated request, and their size cap. */
const KEEP_RETURNS = 256;
const KEEP_RETURN_BYTES = 8 * 1024 * 1024;
/** How long past its deadline a job is remembered. */
const REMEMBER_MS = 86_400_000;

const enc = new TextEncoder();

/** The jobs a peel saw and the returns it keeps; on disk when given a directory. */
export class JobJournal {
  readonly #dir: string | undefined;
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #kept = new Map<string, Kept>();
  #keptBytes = 0;
  #file: Deno.FsFile | undefined;
  #lines = 0;
  /** Writes to the log, one after another. */
  #queue: Promise<void> = Promise.resolve();

  private constructor(dir: string | undefined, log: Logger) {
    this.#dir = dir;
    this.#log = log;
  }

  /**
   * Open the journal in `dir` (created if missing), loading what is there; without `dir`, one
   * in memory (the fleet simulator's).
   */
  static async open(
    dir: string | undefined,
    log: Logger,
    decodeOutcome: (data: Uint8Array) => Kept["outcome"],
  ): Promise<JobJournal> {
    const j = new JobJournal(dir, log);
    if (dir !== undefined) {
      await Deno.mkdir(`${dir}/returns`, { recursive: true, mode: 0o700 });
      await j.#load(decodeOutcome);
      await j.#compact();
    }
    return j;
  }

  /** True when job `jid` was started here. */
  seen(jid: string): boolean {
    return this.#entries.has(jid);
  }

  /** True when job `jid` was started here and never finished (a restart cut it short). */
  interrupted(jid: string): boolean {
    return this.#entries.get(jid)?.done === false;
  }

  /** The kept return of job `jid`. */
  kept(jid: string): Kept | undefined {
    return this.#kept.get(jid);
  }

  /** Record that job `jid` starts; resolves once that is on disk, before the job may run. */
  async start(jid: string, deadline: number): Promise<void> {
    this.#entries.set(jid, { deadline, done: false });
    await this.#append(`S ${jid} ${deadline}\n`, true);
  }

  /** Keep the return of job `jid` and record that the job is done. */
  async finish(jid: string, kept: Kept): Promise<void> {
    const entry = this.#entries.get(jid);
    if (entry) entry.done = true;
    this.#kept.set(jid, kept);
    this.#keptBytes += kept.data.byteLength;
    const evicted = this.#evict();
    if (this.#dir === undefined) return;
    try {
      await Deno.writeFile(`${this.#dir}/returns/${jid}`, kept.data, { mode: 0o600 });
      await Promise.all(evicted.map((id) => Deno.remove(`${this.#dir}/returns/${id}`)));
    } catch (e) {
      this.#log.error("cannot keep return on disk", { jid, error: e });
    }
    await this.#append(`D ${jid}\n`, false).catch((e) =>
      this.#log.error("cannot record job end", { jid, error: e })
    );
  }

  /** Close the log file once pending writes are done. */
  async close(): Promise<void> {
    await this.#queue;
    this.#file?.close();
    this.#file = undefined;
  }

  #evict(): string[] {
    const out: string[] = [];
    while (this.#kept.size > KEEP_RETURNS || this.#keptBytes > KEEP_RETURN_BYTES) {
      const [oldest, { data }] = this.#kept.entries().next().value!;
      this.#kept.delete(oldest);
      this.#keptBytes -= data.byteLength;
      out.push(oldest);
    }
    return out;
  }

  #append(line: string, sync: boolean): Promise<void> {
    if (this.#dir === undefined) return Promise.resolve();
    const done = this.#queue.then(() => this.#write(line, sync));
    this.#queue = done.catch(() => {});
    return done;
  }

  async #write(line: string, sync: boolean): Promise<void> {
    this.#file ??= await Deno.open(`${this.#dir}/seen`, {
      append: true,
      create: true,
      mode: 0o600,
    });
    const bytes = enc.encode(line);
    for (let at = 0; at < bytes.length;) at += await this.#file.write(bytes.subarray(at));
    if (sync) await this.#file.syncData();
    if (++this.#lines > 2 * this.#entries.size + 1000) await this.#compact();
  }

  async #load(decodeOutcome: (data: Uint8Array) => Kept["outcome"]): Promise<void> {
    const dir = this.#dir!;
    let text = "";
    try {
      text = await Deno.readTextFile(`${dir}/seen`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    for (const line of text.split("\n")) {
      const [kind, jid, deadline] = line.split(" ");
      if (!jid || !JID_PATTERN.test(jid)) continue;
      if (kind === "S" && Number.isFinite(Number(deadline))) {
        this.#entries.set(jid, { deadline: Number(deadline), done: false });
      } else if (kind === "D") {
        const entry = this.#entries.get(jid);
        if (entry) entry.done = true;
      }
    }
    const files: string[] = [];
    for await (const e of Deno.readDir(`${dir}/returns`)) {
      if (e.isFile && JID_PATTERN.test(e.name)) files.push(e.name);
    }
    // KSUIDs sort by time: the newest returns are kept.
    files.sort();
    for (const jid of files) {
      const data = await Deno.readFile(`${dir}/returns/${jid}`);
      this.#kept.set(jid, { data, outcome: decodeOutcome(data) });
      this.#keptBytes += data.byteLength;
    }
    await Promise.all(this.#evict().map((id) => Deno.remove(`${dir}/returns/${id}`)));
    const interrupted = [...this.#entries.values()].filter((e) => !e.done).length;
    this.#log.info("job journal loaded", {
      jobs: this.#entries.size,
      returns: this.#kept.size,
      interrupted: interrupted || undefined,
    });
  }

  /** Rewrite the log with what is still remembered. */
  async #compact(): Promise<void> {
    const dir = this.#dir!;
    const cutoff = Date.now() - REMEMBER_MS;
    let text = "";
    for (const [jid, e] of this.#entries) {
      if (e.deadline < cutoff) {
        this.#entries.delete(jid);
        continue;
      }
      text += `S ${jid} ${e.deadline}\n${e.done ? `D ${jid}\n` : ""}`;
    }
    const tmp = `${dir}/seen.tmp`;
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    const f = await Deno.open(tmp, { write: true });
    await f.syncData();
    f.close();
    this.#file?.close();
    this.#file = undefined;
    await Deno.rename(tmp, `${dir}/seen`);
    this.#lines = this.#entries.size;
  }
}
