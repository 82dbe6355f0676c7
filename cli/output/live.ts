/**
 * Printing a run as it happens, as Salt does: each peel's return as it arrives (or all at once
 * with `--static`), the targets not connected at once, and, when stderr is a terminal, a live
 * progress line (returned / expected, failures, elapsed) that the returns print over.
 * @module
 */
import { formatDuration } from "../../lib/config/mod.ts";
import type { ExecReturn } from "../../lib/job/mod.ts";
import type { Format } from "./format.ts";
import { missingLine, type NoReturn, noReturn, renderReturn, renderReturns } from "./returns.ts";

/** What a finished run gives the printer. */
export interface RunView {
  targets: string[];
  returns: ReadonlyMap<string, ExecReturn>;
  absent: ReadonlySet<string>;
}

const enc = new TextEncoder();

/** The progress line on a terminal; nothing elsewhere. */
class Progress {
  readonly #t0 = performance.now();
  readonly #timer: ReturnType<typeof setInterval>;
  #text = "";

  constructor(readonly counts: () => { returned: number; expected: number; failed: number }) {
    this.#timer = setInterval(() => this.draw(), 250);
  }

  draw(): void {
    const { returned, expected, failed } = this.counts();
    const elapsed = formatDuration(Math.round((performance.now() - this.#t0) / 100) * 100);
    this.#text = `${returned}/${expected || "?"} returned, ${failed} failed, ${elapsed}`;
    Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${this.#text}`));
  }

  clear(): void {
    if (this.#text) Deno.stderr.writeSync(enc.encode("\r\x1b[2K"));
  }

  stop(): void {
    clearInterval(this.#timer);
    this.clear();
    this.#text = "";
  }
}

/** Prints one run (or the jobs of a batch) to `out`, a line writer such as `console.log`. */
export class LivePrinter {
  readonly #out: (text: string) => void;
  readonly #format: Format;
  readonly #static: boolean;
  readonly #printed = new Set<string>();
  readonly #progress?: Progress;
  #expected = 0;
  #returned = 0;
  #failed = 0;

  /** Print in `format`; all at the end when `isStatic`. */
  constructor(out: (text: string) => void, format: Format, isStatic: boolean) {
    this.#out = out;
    this.#format = format;
    this.#static = isStatic;
    if (isTerminal()) {
      this.#progress = new Progress(() => ({
        returned: this.#returned,
        expected: this.#expected,
        failed: this.#failed,
      }));
    }
  }

  /** A job of `targets` peels went out. */
  dispatched(targets: number): void {
    this.#expected += targets;
  }

  /** A peel returned. */
  returned(id: string, ret: ExecReturn): void {
    this.#returned++;
    if (!ret.success) this.#failed++;
    this.#print(id, ret, "No response");
  }

  /** Peels were found not connected. */
  absent(ids: string[]): void {
    for (const id of ids) this.#print(id, undefined, "Not connected");
  }

  /** Take the progress line away (the run is over, or failed). */
  close(): void {
    this.#progress?.stop();
  }

  /** The run is over: print what is left. */
  end(view: RunView): void {
    this.close();
    const why = noReturn(view.absent, true);
    if (this.#static) {
      this.#out(renderReturns(view.targets, view.returns, why, this.#format));
      return;
    }
    for (const id of view.targets) {
      if (!this.#printed.has(id)) this.#print(id, view.returns.get(id), why(id));
    }
    const missing = view.targets.filter((id) => !view.returns.has(id));
    if (this.#format === "text" && missing.length) this.#out(`\n${missingLine(missing)}`);
  }

  #print(id: string, ret: ExecReturn | undefined, why: NoReturn): void {
    if (this.#static || this.#printed.has(id)) return;
    this.#printed.add(id);
    this.#progress?.clear();
    this.#out(renderReturn(id, ret, why, this.#format));
    this.#progress?.draw();
  }
}

function isTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}
