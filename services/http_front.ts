/**
 * The HTTP edge: accepts TCP itself and hands only complete, well-formed
 * request heads on to `Deno.serve`, which listens on a unix socket in a
 * private temporary directory. `Deno.serve` alone has no header-read
 * timeout, no idle keep-alive timeout and no connection cap, and its accept
 * loop ends the server on EMFILE (denoland/deno#3515); this front adds them:
 *
 * - a header timeout from accept, and from the first byte of each later head;
 * - an idle timeout between exchanges, and none while one is in progress
 *   (uploads, long responses, SSE, WebSocket and other tunnels after a 101);
 * - a write stall timeout: a client that takes none of the bytes the front
 *   has for it for that long (it does not read, its TCP window stays full)
 *   is closed with its server connection, so the app lets go of what it held
 *   for it; the front itself holds a bounded amount per connection and reads
 *   the server no faster than the client takes (services/http_front_conn.ts);
 * - a cap on open connections, and a file-descriptor budget, past which new
 *   connections are answered 503 and closed;
 * - limits on the request-target (414) and the header section (431), and
 *   400 for a malformed head; every refusal is problem+json with
 *   `Connection: close`;
 * - EMFILE/ENFILE on accept backs off and goes on; on connecting to the
 *   server it answers 503; a server that dies is started again.
 *
 * Relaying costs socket work (each request is read and written twice more
 * than `Deno.serve` alone would). By default the edge (services/
 * http_front_edge.ts: the listener, the client connections, the relaying)
 * runs in a worker, so that work is done beside the app's thread rather
 * than on it; `Deno.serve` and the app stay on the main thread, and the
 * edge's metrics and logs reach it in batches (services/http_front_report.ts).
 * bench/front_bench.ts measures what the front costs.
 *
 * The client's address reaches the app as the `x-syncgate-client-addr`
 * field and as `info.remoteAddr` of the handler. The field can be trusted:
 * the front removes any copy a client sends, and only processes of the same
 * user can reach the private socket.
 */
import type { Logger } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";
import { FrontEdge } from "./http_front_edge.ts";
import { DEFAULT_FRONT_LIMITS, type FrontLimits } from "./http_front_limits.ts";
import { FrontStats } from "./http_front_report.ts";
import { type EdgeHandle, WorkerEdge } from "./http_front_thread.ts";

export { DEFAULT_FRONT_LIMITS, type FrontLimits };

/** The field that carries the client's address to the app, e.g. `203.0.113.7:51234`. */
export const CLIENT_ADDR_HEADER = "x-syncgate-client-addr";

/** Options of startFront. */
export interface FrontOptions {
  hostname: string;
  port: number;
  /** The app; served by `Deno.serve` behind the front. */
  handler: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;
  limits?: Partial<FrontLimits>;
  /**
   * Where the front's own socket work runs: `worker` (default), a thread of
   * its own, so the app's thread only serves requests; `main`, the app's
   * thread. Its metrics and logs reach `metrics` and `log` either way,
   * from a worker within some tens of milliseconds.
   */
  thread?: "worker" | "main";
  metrics: Metrics;
  log: Logger;
}

/** A running front. */
export interface Front {
  /** The address it listens on (port 0 becomes the port chosen). */
  addr: Deno.NetAddr;
  /** Client connections open now (from a worker: as last reported). */
  readonly connections: number;
  /**
   * Stops accepting, closes idle connections, lets exchanges in progress end
   * (as `Deno.serve`'s shutdown does), then closes everything.
   */
  close(): Promise<void>;
}

/**
 * Starts the front and the server behind it; resolves once listening.
 *
 * @example
 * ```ts
 * const front = await startFront({
 *   hostname: "127.0.0.1",
 *   port: 8000,
 *   handler: app.fetch,
 *   limits: { headerTimeoutMs: 10_000, idleTimeoutMs: 30_000, maxConnections: 5_000 },
 *   metrics,
 *   log,
 * });
 * console.log(`listening on ${front.addr.hostname}:${front.addr.port}`);
 * await front.close();
 * ```
 */
export async function startFront(opts: FrontOptions): Promise<Front> {
  primeSignals();
  const limits = { ...DEFAULT_FRONT_LIMITS, ...opts.limits };
  if (opts.limits?.maxFileDescriptors === undefined) {
    const limit = openFileLimit();
    if (limit !== undefined) limits.maxFileDescriptors = limit - 128;
  }
  const dir = await Deno.makeTempDir({ prefix: "syncgate-front-" });
  const front = new HttpFront(opts, dir);
  try {
    const upstreamPath = front.startServer();
    const edgeOpts = {
      hostname: opts.hostname,
      port: opts.port,
      limits,
      clientAddrHeader: CLIENT_ADDR_HEADER,
      upstreamPath,
    };
    let edge: EdgeHandle;
    if (opts.thread === "main") {
      const inline = new FrontEdge(edgeOpts, front.stats);
      inline.start();
      edge = inline;
    } else {
      edge = await WorkerEdge.start(edgeOpts, front.stats);
    }
    front.edge = edge;
    return front;
  } catch (e) {
    await front.close();
    throw e;
  }
}

/** Reads the client-address field's value back into an address. */
export function parseClientAddr(value: string | null): Deno.NetAddr | undefined {
  const m = value === null ? null : /^\[?([^\]]*)\]?:(\d+)$/.exec(value);
  return m ? { transport: "tcp", hostname: m[1], port: Number(m[2]) } : undefined;
}

/** The server behind, on the main thread, and the edge before it. */
class HttpFront implements Front {
  readonly stats: FrontStats;
  edge: EdgeHandle | undefined;
  #server: Deno.HttpServer | undefined;
  #serverGeneration = 0;
  #closing: Promise<void> | undefined;

  constructor(private readonly opts: FrontOptions, private readonly dir: string) {
    this.stats = new FrontStats(opts.metrics, opts.log);
  }

  get addr(): Deno.NetAddr {
    return this.edge!.addr;
  }

  get connections(): number {
    return this.stats.connections;
  }

  close(): Promise<void> {
    return this.#closing ??= (async () => {
      await this.edge?.drain();
      await this.#server?.shutdown();
      await this.edge?.finish();
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    })();
  }

  /** Starts `Deno.serve` on a new socket in the private directory; returns its path. */
  startServer(): string {
    const path = `${this.dir}/http-${this.#serverGeneration++}.sock`;
    const handler = this.opts.handler;
    const server = Deno.serve({ path, onListen: () => {} }, (req, info) => {
      const remoteAddr = parseClientAddr(req.headers.get(CLIENT_ADDR_HEADER));
      if (!remoteAddr) return handler(req, info);
      return handler(req, {
        remoteAddr,
        get completed() {
          return info.completed;
        },
      });
    });
    this.#server = server;
    server.finished.catch((e) => this.#serverDied(e));
    return path;
  }

  /** Deno.serve ends on an accept error (EMFILE): start another, on a new socket. */
  #serverDied(e: unknown, attempt = 0): void {
    if (this.#closing) return;
    this.opts.log.error("HTTP server behind the front failed; starting it again", { error: e });
    const code = (e as { code?: string } | null)?.code;
    this.edge?.serverFailed(code === "EMFILE" || code === "ENFILE");
    setTimeout(() => {
      if (this.#closing) return;
      try {
        this.edge?.setUpstream(this.startServer());
      } catch (e2) {
        this.#serverDied(e2, attempt + 1);
      }
    }, Math.min(5_000, 50 * 2 ** attempt));
  }
}

/**
 * Deno sets up its signal handling (a pipe, so file descriptors) lazily, and
 * panics if that first happens while the process is out of them: it does so
 * about a second after start even in a program that never asks for a
 * signal. Asking once, here, sets it up while descriptors are free; the
 * listener is removed at once, so nothing else changes.
 */
function primeSignals(): void {
  try {
    const noop = () => {};
    Deno.addSignalListener("SIGWINCH", noop);
    Deno.removeSignalListener("SIGWINCH", noop);
  } catch { /* no such signal here (Windows) */ }
}

/** The soft limit on open files, when this process may read it. */
function openFileLimit(): number | undefined {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const m = /^Max open files\s+(\d+)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
