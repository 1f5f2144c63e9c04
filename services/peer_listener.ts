/**
 * A listener for peer protocols on TCP or a unix socket, with TLS over
 * either: it accepts connections and runs one handler per connection, given
 * a PeerConnection whatever the transport. A handler that throws ends only
 * its own connection. A failed accept() (EMFILE when file descriptors run
 * out, ECONNABORTED, …) is counted and logged, and the loop backs off
 * briefly and goes on: only stop() ends it. stop() closes the listener and
 * every open connection.
 *
 * @example
 * ```ts
 * const listener = new PeerListener({
 *   name: "remotefile",
 *   address: { transport: "tcp", hostname: "127.0.0.1", port: 5000 },
 *   frameHeader: numHeader32,
 *   maxFrameBytes: 1 << 20,
 *   idleTimeoutMs: 120_000,
 *   maxConnections: 64,
 *   log,
 *   metrics,
 * }, async (conn, signal) => {
 *   for await (const frame of conn.frames()) await serve(frame, conn, signal);
 * });
 * await listener.start();
 * ```
 */
import { deadline, delay } from "../lib/delay.ts";
import { UnavailableError } from "../lib/errors.ts";
import { describeError, failureLogger, type Logger } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";
import {
  describeAddress,
  type PeerAddress,
  PeerConnection,
  type PeerConnectionOptions,
} from "./peer_connection.ts";
import type { Service } from "./service.ts";
import { type TlsServer, tlsServer, type TlsServerOptions } from "./tls_socket.ts";

/**
 * Serves one connection until it ends; `signal` aborts when the listener
 * stops (`conn.signal` when the connection closes). The connection is closed
 * when the handler returns or throws.
 */
export type ConnectionHandler = (conn: PeerConnection, signal: AbortSignal) => Promise<void>;

export interface PeerListenerOptions extends PeerConnectionOptions {
  /** Names the listener in logs and metrics. */
  name: string;
  address: PeerAddress;
  /** Run TLS (node:tls) over every accepted connection. */
  tls?: TlsServerOptions;
  /** Connections beyond this are closed at once. */
  maxConnections: number;
  /** How long a TLS handshake may take; default 10 s. */
  handshakeTimeoutMs?: number;
  log: Logger;
  metrics: Metrics;
}

/** Longest pause after failed accepts: short, so capacity that comes back is used soon. */
const MAX_ACCEPT_BACKOFF_MS = 1000;

export class PeerListener implements Service {
  #listener?: Deno.Listener;
  #tls?: TlsServer;
  /** What closes each open connection: the raw socket while handshaking, then the PeerConnection. */
  #open = new Set<(reason: string) => void>();
  #running = new Set<Promise<void>>();
  #abort = new AbortController();
  #accepting?: Promise<void>;
  #lastRefusalLog = -Infinity;
  readonly #labels: { listener: string };
  readonly #acceptFailed: (e: unknown) => void;

  constructor(
    private readonly opts: PeerListenerOptions,
    private readonly handler: ConnectionHandler,
  ) {
    this.#labels = { listener: opts.name };
    this.#acceptFailed = failureLogger(
      opts.log,
      `Listener "${opts.name}" failed to accept a connection; retrying`,
      10_000,
    );
  }

  /** Where peers reach the listener, with the bound port; once started. */
  get address(): PeerAddress {
    const addr = this.#listener?.addr;
    if (!addr) throw new Error(`Listener "${this.opts.name}" is not started`);
    return addr.transport === "unix" ? { transport: "unix", path: (addr as Deno.UnixAddr).path } : {
      transport: "tcp",
      hostname: (addr as Deno.NetAddr).hostname,
      port: (addr as Deno.NetAddr).port,
    };
  }

  /** Connections open now. */
  get connections(): number {
    return this.#open.size;
  }

  async start(): Promise<void> {
    if (this.#listener) return;
    if (this.opts.tls) this.#tls = tlsServer(this.opts.tls);
    const a = this.opts.address;
    this.#listener = a.transport === "tcp"
      ? Deno.listen({ hostname: a.hostname, port: a.port, transport: "tcp" })
      : await listenUnix(a.path);
    this.#accepting = this.#acceptLoop(this.#listener);
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    let failures = 0;
    while (!this.#abort.signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        failures = 0;
      } catch (e) {
        if (this.#abort.signal.aborted || e instanceof Deno.errors.BadResource) return;
        this.opts.metrics.peerAcceptErrors.inc(this.#labels);
        this.#acceptFailed(e);
        const wait = Math.min(MAX_ACCEPT_BACKOFF_MS, 5 * 2 ** failures++);
        await delay(wait, { signal: this.#abort.signal }).catch(() => {});
        continue;
      }
      if (this.#open.size >= this.opts.maxConnections) {
        this.#refuse(conn);
        continue;
      }
      this.opts.metrics.peerConnections.inc({ ...this.#labels, outcome: "accepted" });
      const run = this.#serve(conn).finally(() => this.#running.delete(run));
      this.#running.add(run);
    }
  }

  #refuse(conn: Deno.Conn): void {
    this.opts.metrics.peerConnections.inc({ ...this.#labels, outcome: "refused" });
    try {
      conn.close();
    } catch { /* already closed */ }
    // Under a flood, one line per 10 s; the metric counts them all.
    const now = performance.now();
    if (now - this.#lastRefusalLog < 10_000) return;
    this.#lastRefusalLog = now;
    this.opts.log.warn("connection refused: too many", {
      listener: this.opts.name,
      maxConnections: this.opts.maxConnections,
    });
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const { metrics, log, name } = this.opts;
    metrics.peerConnectionsOpen.add(1, this.#labels);
    let close = (_reason: string) => {
      try {
        conn.close();
      } catch { /* already closed */ }
    };
    const closer = (reason: string) => close(reason);
    this.#open.add(closer);
    let peer: PeerConnection | undefined;
    // A signal per connection: what a handler hangs on it goes away with the connection.
    using run = deadline(Infinity, this.#abort.signal, () => undefined);
    try {
      peer = await this.#accept(conn);
      close = (reason) => peer!.close(reason);
      if (!run.signal.aborted) await this.handler(peer, run.signal);
      peer.close(run.signal.aborted ? "listener stopping" : "handler finished");
    } catch (e) {
      close(e instanceof Error ? describeError(e) : String(e));
      // Connections cut by stop() did not fail.
      if (this.#abort.signal.aborted) return;
      metrics.peerConnections.inc({ ...this.#labels, outcome: "failed" });
      log.warn(peer ? "connection failed" : "connection setup failed", {
        listener: name,
        remote: describeAddress(conn.remoteAddr),
        error: e,
      });
    } finally {
      this.#open.delete(closer);
      metrics.peerConnectionsOpen.add(-1, this.#labels);
    }
  }

  async #accept(conn: Deno.Conn): Promise<PeerConnection> {
    if (!this.#tls) return await PeerConnection.accept(conn, { ...this.opts, tls: undefined });
    const ms = this.opts.handshakeTimeoutMs ?? 10_000;
    using step = deadline(
      ms,
      this.#abort.signal,
      () => new UnavailableError(`TLS handshake not done after ${ms} ms`),
    );
    return await PeerConnection.accept(conn, { ...this.opts, tls: this.#tls, signal: step.signal });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    await this.#accepting;
    for (const close of this.#open) close("listener stopping");
    await Promise.all(this.#running);
  }
}

/**
 * Listens on a unix socket path, first removing a socket file that a crashed
 * process left behind (one nobody answers on); a live one is left alone.
 */
async function listenUnix(path: string): Promise<Deno.Listener> {
  try {
    return Deno.listen({ transport: "unix", path });
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      throw e; // someone is listening there
    } catch (probe) {
      if (!(probe instanceof Deno.errors.ConnectionRefused)) throw probe;
    }
    await Deno.remove(path);
    return Deno.listen({ transport: "unix", path });
  }
}
