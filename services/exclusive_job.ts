/**
 * A periodic job that runs in one process (or Deploy isolate) at a time:
 * Waku retention, the hash indexer, later MVDS epoch tickers and peer
 * reconnect loops. Every process runs this service; only the one holding
 * the job's lease (storage/lease.ts) runs the job, and another takes over
 * when the holder dies.
 *
 * The holder renews every ttl/3, counted from the start of the previous
 * renewal. The job's signal is aborted at once when a renewal finds the
 * lease lost or fails, and also when no renewal has succeeded by
 * validUntil − ttl/3 (a renewal stuck on a slow store), so the job has a
 * third of the TTL to notice before any contender may take over.
 *
 * A job still running when its signal aborts cannot be forced to stop: it
 * must check the signal between units of work (between commits), and a job
 * whose writes must never overlap a successor's should also fence them
 * (check the lease's `fence` in the same commit). This service never starts
 * the job again, in this process, before the aborted run has returned, and
 * stop() releases the lease only after it has.
 */
import { ConflictError, UnavailableError } from "../lib/errors.ts";
import { failureLogger, type Logger } from "../lib/log.ts";
import type { Store } from "../storage/kv.ts";
import { Lease } from "../storage/lease.ts";
import type { Service } from "./service.ts";

/** Options of an exclusive job. */
export interface ExclusiveJobOptions {
  /** The lease's name, the same in every process (e.g. "waku-retention"). */
  name: string;
  /** How long a dead holder keeps the job from others; default 15 s. */
  ttlMs?: number;
  /** Pause between the end of one run and the start of the next. */
  intervalMs: number;
  /** One run of the job; stop soon after `signal` aborts. `fence` is the lease's fencing token. */
  job: (signal: AbortSignal, fence: number) => unknown;
  log: Logger;
  /** This process's holder id (unique); default a random UUID. */
  holder?: string;
  /** See storage/lease.ts; default 1 s. */
  clockSkewMs?: number;
}

interface Tenure {
  abort: AbortController;
  /** The job loop of this tenure; settles once the job is no longer running. */
  done: Promise<void>;
  deadline?: ReturnType<typeof setTimeout>;
}

/**
 * Runs `job` every `intervalMs` while this process holds the lease `name`.
 *
 * @example
 * ```ts
 * const retention = runUnderLease(store, {
 *   name: "waku-retention",
 *   intervalMs: 60_000,
 *   job: () => wakuService.applyRetention(),
 *   log,
 * });
 * retention.start();
 * // …
 * await retention.stop(); // aborts a running pass, waits for it, releases the lease
 * ```
 */
export function runUnderLease(store: Store, opts: ExclusiveJobOptions): ExclusiveJob {
  return new ExclusiveJob(store, opts);
}

/** The service runUnderLease returns. */
export class ExclusiveJob implements Service {
  readonly #lease: Lease;
  readonly #stopping = new AbortController();
  readonly #jobFailed: (e: unknown) => void;
  readonly #leaseFailed: (e: unknown) => void;
  #loop?: Promise<void>;
  #stopped?: Promise<void>;
  #tenure?: Tenure;
  /** Runs of the job that returned without throwing, in this process. */
  runs = 0;

  constructor(store: Store, private readonly opts: ExclusiveJobOptions) {
    this.#lease = new Lease(store, opts.name, {
      ttlMs: opts.ttlMs ?? 15_000,
      holder: opts.holder,
      clockSkewMs: opts.clockSkewMs,
    });
    this.#jobFailed = failureLogger(opts.log, `Job "${opts.name}" failed`);
    this.#leaseFailed = failureLogger(
      opts.log,
      `Lease "${opts.name}" could not be acquired or renewed`,
    );
  }

  /** This process's holder id. */
  get holder(): string {
    return this.#lease.holder;
  }

  /** Whether this process holds the lease and may run the job now. */
  get holding(): boolean {
    return this.#tenure !== undefined && !this.#tenure.abort.signal.aborted;
  }

  start(): void {
    if (this.#stopping.signal.aborted) return;
    this.#loop ??= this.#leaseLoop();
  }

  /** Aborts a running job, waits for it, then releases the lease. */
  stop(): Promise<void> {
    return this.#stopped ??= this.#stop();
  }

  async #stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    const t = this.#tenure;
    if (t) {
      this.#end(t, new DOMException(`Job "${this.opts.name}" stopped`, "AbortError"));
      await t.done;
      this.#tenure = undefined;
    }
    try {
      await this.#lease.release();
    } catch (e) {
      this.#leaseFailed(e);
    }
  }

  async #leaseLoop(): Promise<void> {
    const every = this.#lease.ttlMs / 3;
    const stop = this.#stopping.signal;
    while (!stop.aborted) {
      const started = performance.now();
      try {
        await this.#tick();
      } catch (e) {
        this.#leaseFailed(e);
      }
      await sleep(every - (performance.now() - started), stop);
    }
  }

  /** Renews the lease while holding it; otherwise waits for the last run to end and acquires. */
  async #tick(): Promise<void> {
    const t = this.#tenure;
    if (t && !t.abort.signal.aborted) {
      let held;
      try {
        held = await this.#lease.renew();
      } catch (e) {
        this.#end(
          t,
          new UnavailableError(`Lease "${this.opts.name}" renewal failed`, { cause: e }),
        );
        throw e;
      }
      if (held) return this.#arm(t);
      this.#end(t, new ConflictError(`Lease "${this.opts.name}" is held by another process`));
      this.opts.log.warn("lease lost; job stopped", { lease: this.opts.name, holder: this.holder });
      return;
    }
    if (t) {
      await t.done;
      this.#tenure = undefined;
    }
    if (this.#stopping.signal.aborted || !(await this.#lease.acquire())) return;
    if (this.#stopping.signal.aborted) return; // stop() releases it
    const fence = this.#lease.fence!;
    const abort = new AbortController();
    const tenure: Tenure = { abort, done: this.#jobLoop(abort.signal, fence) };
    this.#tenure = tenure;
    this.#arm(tenure);
    this.opts.log.info("lease acquired", { lease: this.opts.name, holder: this.holder, fence });
  }

  /** Aborts the job at validUntil − ttl/3 unless a renewal moves that on. */
  #arm(t: Tenure): void {
    clearTimeout(t.deadline);
    const at = this.#lease.validUntil - this.#lease.ttlMs / 3;
    t.deadline = setTimeout(() => {
      this.#end(t, new UnavailableError(`Lease "${this.opts.name}" was not renewed in time`));
    }, Math.max(0, at - performance.now()));
  }

  #end(t: Tenure, reason: unknown): void {
    clearTimeout(t.deadline);
    if (!t.abort.signal.aborted) t.abort.abort(reason);
  }

  async #jobLoop(signal: AbortSignal, fence: number): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.opts.job(signal, fence);
        this.runs++;
      } catch (e) {
        if (!signal.aborted) this.#jobFailed(e);
      }
      await sleep(this.opts.intervalMs, signal);
    }
  }
}

/** Waits `ms`, or less if `signal` aborts first (without throwing). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done);
  });
}
