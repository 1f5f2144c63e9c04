/**
 * An outbound session to a configured peer that reconnects with backoff.
 * Each run connects (within connectTimeoutMs) and then serves the
 * connection until it ends; the session then waits and runs again until
 * stopped. A session that stayed connected `stableMs` resets the backoff, so
 * a peer that comes back after a long outage is retried at once, not after
 * the longest delay. Its status (phase, since when, next retry, last error,
 * counts) is there for /health and peer routes.
 *
 * Every wait and step takes a signal of its own, linked to the session's
 * with one listener that is removed when the step ends: a session that
 * retries for months holds no more listeners than on its first try.
 *
 * @example
 * ```ts
 * const session = new ReconnectingSession({
 *   name: "bep-peer-1", baseMs: 500, maxMs: 60_000, stableMs: 30_000,
 *   connectTimeoutMs: 10_000, log,
 * }, {
 *   connect: (signal) => PeerConnection.connect({ address, tls, signal, ...framing }),
 *   serve: async (conn, signal) => { for await (const f of conn.frames()) await handle(f, signal); },
 * });
 * session.start();
 * session.status; // { phase: "connected", since: 1733000000000, runs: 0, … }
 * ```
 */
import { backoffDelay, type BackoffOptions } from "../lib/backoff.ts";
import { abortable, deadline, delay } from "../lib/delay.ts";
import { UnavailableError } from "../lib/errors.ts";
import { describeError, type Logger } from "../lib/log.ts";
import type { Service } from "./service.ts";

export interface SessionOptions extends BackoffOptions {
  name: string;
  /** A session connected at least this long resets the backoff. */
  stableMs: number;
  /** Longest a connect may take; past it the attempt fails with UnavailableError. */
  connectTimeoutMs: number;
  /**
   * How long stop() waits for serve to end after aborting its signal and
   * closing its connection; default 5 s. A serve still running then is
   * logged and left behind, so that shutdown never hangs on one.
   */
  stopGraceMs?: number;
  log: Logger;
}

/** How to open a session's connection and what to do with it. */
export interface SessionHandlers<C> {
  /** Opens the connection; `signal` aborts on stop() or after connectTimeoutMs. */
  connect(signal: AbortSignal): Promise<C>;
  /** Serves the connection until it ends; `signal` aborts on stop(). */
  serve(conn: C, signal: AbortSignal): Promise<void>;
  /**
   * Closes a connection: after serve, on stop() (so that serve ends even if
   * it is blocked on a read), and one that connect delivered too late.
   * Default: the connection's own `close(reason)`, if it has one.
   */
  close?(conn: C, reason: string): void;
}

export type SessionPhase = "idle" | "connecting" | "connected" | "backing-off" | "stopped";

/** A session as status pages show it; times are Unix ms. */
export interface SessionStatus {
  name: string;
  phase: SessionPhase;
  /** When the current phase began. */
  since: number;
  /** While backing off: when the next attempt starts. */
  retryAt?: number;
  /** Failed or short runs since the last stable one: the backoff exponent. */
  attempt: number;
  /** Runs finished: connects that failed and sessions that ended. */
  runs: number;
  /** Connects that succeeded. */
  connections: number;
  lastError?: { message: string; at: number };
}

function closeIfCloseable(conn: unknown, reason: string): void {
  const close = (conn as { close?: (reason: string) => void } | null)?.close;
  if (typeof close === "function") {
    try {
      close.call(conn, reason);
    } catch { /* already closed */ }
  }
}

export class ReconnectingSession<C = unknown> implements Service {
  #abort = new AbortController();
  #loop?: Promise<void>;
  #serving?: Promise<void>;
  #status: SessionStatus;
  #loggedAt = -Infinity;

  constructor(
    private readonly opts: SessionOptions,
    private readonly handlers: SessionHandlers<C>,
  ) {
    this.#status = {
      name: opts.name,
      phase: "idle",
      since: Date.now(),
      attempt: 0,
      runs: 0,
      connections: 0,
    };
  }

  /** A snapshot of where the session is. */
  get status(): SessionStatus {
    return { ...this.#status };
  }

  /** Runs finished (see SessionStatus.runs). */
  get runs(): number {
    return this.#status.runs;
  }

  start(): void {
    if (this.#abort.signal.aborted) return;
    this.#loop ??= this.#forever();
  }

  /**
   * Ends the session in whatever phase it is: gives up connecting, closes the
   * connection, stops waiting; then waits (up to stopGraceMs) for serve to end.
   */
  async stop(): Promise<void> {
    this.#abort.abort(new UnavailableError(`Session "${this.opts.name}" stopped`));
    await this.#loop;
    const serving = this.#serving;
    if (serving) {
      const graceMs = this.opts.stopGraceMs ?? 5000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ended = await Promise.race([
        serving.then(() => true),
        new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), graceMs)),
      ]);
      clearTimeout(timer);
      if (!ended) {
        this.opts.log.warn("session serve did not end on stop; left behind", {
          session: this.opts.name,
          graceMs,
        });
      }
    }
    this.#phase("stopped");
  }

  async #forever(): Promise<void> {
    const stop = this.#abort.signal;
    while (!stop.aborted) {
      let connectedAt: number | undefined;
      try {
        const conn = await this.#connect(stop);
        connectedAt = performance.now();
        await this.#serve(conn, stop);
      } catch (e) {
        if (!stop.aborted) this.#failed(e);
      }
      this.#status.runs++;
      if (stop.aborted) break;
      if (connectedAt !== undefined && performance.now() - connectedAt >= this.opts.stableMs) {
        this.#status.attempt = 0;
      }
      const wait = backoffDelay(this.#status.attempt++, this.opts);
      this.#phase("backing-off", Date.now() + wait);
      await delay(wait, { signal: stop }).catch(() => {});
    }
  }

  async #connect(stop: AbortSignal): Promise<C> {
    const { name, connectTimeoutMs } = this.opts;
    this.#phase("connecting");
    using step = deadline(
      connectTimeoutMs,
      stop,
      () => new UnavailableError(`Connecting "${name}" timed out after ${connectTimeoutMs} ms`),
    );
    const conn = await abortable(
      this.handlers.connect(step.signal),
      step.signal,
      (late) => this.#close(late, "connected too late"),
    );
    this.#status.connections++;
    this.#phase("connected");
    return conn;
  }

  async #serve(conn: C, stop: AbortSignal): Promise<void> {
    // A signal per run: whatever serve hangs on it goes away with the run.
    using run = deadline(Infinity, stop, () => undefined);
    const serving = this.handlers.serve(conn, run.signal);
    this.#serving = serving.catch(() => {});
    try {
      await abortable(serving, run.signal);
      this.#serving = undefined;
    } finally {
      // On stop() this is what ends a serve blocked on a read.
      this.#close(conn, stop.aborted ? "session stopping" : "session ended");
    }
  }

  #failed(e: unknown): void {
    const message = e instanceof Error ? describeError(e) : String(e);
    const now = Date.now();
    // A peer that stays down fails the same way on every retry: log that once a minute.
    const last = this.#status.lastError;
    if (last?.message !== message || now - this.#loggedAt >= 60_000) {
      this.#loggedAt = now;
      this.opts.log.warn("session ended", { session: this.opts.name, error: e });
    }
    this.#status.lastError = { message, at: now };
  }

  #close(conn: C, reason: string): void {
    if (this.handlers.close) this.handlers.close(conn, reason);
    else closeIfCloseable(conn, reason);
  }

  #phase(phase: SessionPhase, retryAt?: number): void {
    this.#status.phase = phase;
    this.#status.since = Date.now();
    this.#status.retryAt = retryAt;
  }
}
