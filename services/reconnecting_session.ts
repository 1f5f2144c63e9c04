/**
 * An outbound session to a configured peer that reconnects with backoff.
 * `run` connects and serves the session until it ends (returning or
 * throwing); the session then waits and runs again until stopped. A session
 * that lasted `stableMs` resets the backoff, so a peer that comes back after
 * a long outage is retried at once, not after the longest delay.
 */
import { backoffDelay, type BackoffOptions } from "../lib/backoff.ts";
import type { Logger } from "../lib/log.ts";
import type { Service } from "./service.ts";

export interface SessionOptions extends BackoffOptions {
  name: string;
  stableMs: number;
  log: Logger;
}

export class ReconnectingSession implements Service {
  #abort = new AbortController();
  #loop?: Promise<void>;
  #attempt = 0;
  /** Completed runs, for status pages and tests. */
  runs = 0;

  constructor(
    private readonly opts: SessionOptions,
    private readonly run: (signal: AbortSignal) => Promise<void>,
  ) {}

  start(): void {
    this.#loop ??= this.#forever();
  }

  async #forever(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const started = performance.now();
      try {
        await this.run(signal);
      } catch (e) {
        if (!signal.aborted) {
          this.opts.log.warn("session ended", { session: this.opts.name, error: e });
        }
      }
      this.runs++;
      if (signal.aborted) return;
      if (performance.now() - started >= this.opts.stableMs) this.#attempt = 0;
      const delay = backoffDelay(this.#attempt++, this.opts);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}
