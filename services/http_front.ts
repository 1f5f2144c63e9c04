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
 * - a cap on open connections, and a file-descriptor budget, past which new
 *   connections are answered 503 and closed;
 * - limits on the request-target (414) and the header section (431), and
 *   400 for a malformed head; every refusal is problem+json with
 *   `Connection: close`;
 * - EMFILE/ENFILE on accept backs off and goes on; on connecting to the
 *   server it answers 503; a server that dies is started again.
 *
 * The client's address reaches the app as the `x-syncgate-client-addr`
 * field and as `info.remoteAddr` of the handler. The field can be trusted:
 * the front removes any copy a client sends, and only processes of the same
 * user can reach the private socket.
 */
import type { Logger } from "../lib/log.ts";
import { failureLogger } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";
import { type Problem, problemResponse } from "../protocols/http1/problem.ts";
import { type ConnContext, FrontConnection } from "./http_front_conn.ts";
import { type Upstream, type UpstreamOwner, UpstreamPool } from "./upstream_pool.ts";

/** The field that carries the client's address to the app, e.g. `203.0.113.7:51234`. */
export const CLIENT_ADDR_HEADER = "x-syncgate-client-addr";

/** Limits of the front; each is an option of startFront. */
export interface FrontLimits {
  /** Time to receive a whole request head, from accept or from its first byte (408 after). */
  headerTimeoutMs: number;
  /** Time a connection may sit idle between exchanges before it is closed. */
  idleTimeoutMs: number;
  /** Client connections open at once; more are answered 503 and closed. */
  maxConnections: number;
  /** Longest request-target in bytes (414 beyond). */
  maxUrlBytes: number;
  /** Largest header section in bytes (431 beyond). */
  maxHeaderBytes: number;
  /** Most header fields (431 beyond). */
  maxHeaderCount: number;
  /**
   * File descriptors the front may hold: one per client connection and two
   * per connection to the server (its end and the server's). New connections
   * that could pass it are answered 503. Default: the process's limit less
   * 128 when readable (`/proc/self/limits` needs --allow-all), else none
   * until an EMFILE shows where the limit is.
   */
  maxFileDescriptors: number;
  /** Idle connections to the server kept for reuse. */
  maxIdleUpstream: number;
}

/** Defaults, as nginx and hyper use them roughly. */
export const DEFAULT_FRONT_LIMITS: Readonly<FrontLimits> = {
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxConnections: 10_000,
  maxUrlBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxFileDescriptors: Infinity,
  maxIdleUpstream: 256,
};

/** Options of startFront. */
export interface FrontOptions {
  hostname: string;
  port: number;
  /** The app; served by `Deno.serve` behind the front. */
  handler: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;
  limits?: Partial<FrontLimits>;
  metrics: Metrics;
  log: Logger;
}

/** A running front. */
export interface Front {
  /** The address it listens on (port 0 becomes the port chosen). */
  addr: Deno.NetAddr;
  /** Client connections open now. */
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
  const front = new HttpFront(opts, limits, await Deno.makeTempDir({ prefix: "syncgate-front-" }));
  front.start();
  return front;
}

/** Reads the client-address field's value back into an address. */
export function parseClientAddr(value: string | null): Deno.NetAddr | undefined {
  const m = value === null ? null : /^\[?([^\]]*)\]?:(\d+)$/.exec(value);
  return m ? { transport: "tcp", hostname: m[1], port: Number(m[2]) } : undefined;
}

const encoder = new TextEncoder();
/** How long a connection refused at accept is read after its 503, and how many may be. */
const REFUSE_LINGER_MS = 1_000, MAX_REFUSING = 64;

class HttpFront implements Front {
  readonly addr: Deno.NetAddr;
  #listener: Deno.TcpListener;
  #conns = new Set<FrontConnection>();
  #refusing = 0;
  #pool: UpstreamPool;
  #server: Deno.HttpServer | undefined;
  #serverGeneration = 0;
  #ctx: ConnContext;
  #accepting: Promise<void> | undefined;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  #logFdFailure: (e: unknown) => void;

  constructor(
    private readonly opts: FrontOptions,
    private readonly limits: FrontLimits,
    private readonly dir: string,
  ) {
    this.#listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
    this.addr = this.#listener.addr;
    this.#logFdFailure = failureLogger(opts.log, "HTTP front is out of file descriptors", 10_000);
    const metrics = opts.metrics;
    this.#pool = new UpstreamPool(
      () => Promise.reject(new Error("Not started")),
      limits.maxIdleUpstream,
      (delta) => metrics.frontUpstreamOpen.add(delta),
    );
    this.#ctx = {
      headLimits: limits,
      headerTimeoutMs: limits.headerTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      clientAddrHeader: CLIENT_ADDR_HEADER,
      pool: this.#pool,
      acquire: (owner) => this.#acquire(owner),
      refused: (status) => {
        if (status !== 408) metrics.frontRefused.inc({ reason: REASONS[status] ?? String(status) });
      },
      timedOut: (phase) => metrics.frontTimeouts.inc({ phase }),
      draining: () => this.#closing !== undefined,
      closed: (conn) => {
        if (this.#conns.delete(conn)) metrics.frontConnectionsOpen.add(-1);
      },
    };
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** File descriptors held: clients, refusals in progress, and both ends of each upstream. */
  get #fds(): number {
    return this.#conns.size + this.#refusing + 2 * this.#pool.open;
  }

  start(): void {
    this.#startServer();
    this.#accepting = this.#acceptLoop();
    const tick = Math.max(
      10,
      Math.min(1_000, this.limits.headerTimeoutMs / 4, this.limits.idleTimeoutMs / 4),
    );
    this.#sweep = setInterval(() => this.#expire(), tick);
  }

  close(): Promise<void> {
    return this.#closing ??= (async () => {
      try {
        this.#listener.close();
      } catch { /* already closed */ }
      await this.#accepting;
      for (const c of this.#conns) if (c.idle) c.close();
      await this.#server?.shutdown();
      // Answers the server finished may still be on their way to clients: give them a moment.
      for (let i = 0; i < 100 && this.#conns.size > 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      clearInterval(this.#sweep);
      for (const c of [...this.#conns]) c.close();
      this.#pool.closeIdle();
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    })();
  }

  // ---- the server behind ----

  #startServer(): void {
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
    this.#pool.connect = () => {
      // Room for this end and the server's, so the server's accept never meets EMFILE.
      if (this.#fds + 2 > this.limits.maxFileDescriptors) {
        return Promise.reject(Object.assign(new Error("File descriptor budget reached"), {
          code: "BUDGET",
        }));
      }
      return Deno.connect({ transport: "unix", path });
    };
    server.finished.catch((e) => this.#serverDied(e));
  }

  /** Deno.serve ends on an accept error (EMFILE): start another, on a new socket. */
  #serverDied(e: unknown, attempt = 0): void {
    if (this.#closing) return;
    this.opts.log.error("HTTP server behind the front failed; starting it again", { error: e });
    if (isFdError(e)) this.#learnFdLimit();
    this.#pool.closeIdle();
    setTimeout(() => {
      if (this.#closing) return;
      try {
        this.#startServer();
      } catch (e2) {
        this.#serverDied(e2, attempt + 1);
      }
    }, Math.min(5_000, 50 * 2 ** attempt));
  }

  async #acquire(owner: UpstreamOwner): Promise<Upstream | Problem> {
    try {
      return await this.#pool.acquire(owner);
    } catch (e) {
      if (isFdError(e)) {
        this.#learnFdLimit();
        this.#logFdFailure(e);
      }
      return {
        status: 503,
        detail: isFdError(e) || (e as { code?: string }).code === "BUDGET"
          ? "The gateway is at its limit of open connections; retry shortly"
          : "The application server is not reachable right now; retry shortly",
        headers: { "retry-after": "1" },
      };
    }
  }

  // ---- clients ----

  async #acceptLoop(): Promise<void> {
    let backoff = 0;
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoff = 0;
      } catch (e) {
        if (this.#closing || e instanceof Deno.errors.BadResource) return;
        const code = (e as { code?: string }).code ?? (e as Error).name;
        this.opts.metrics.frontAcceptErrors.inc({ code });
        if (isFdError(e)) {
          this.#learnFdLimit();
          this.#logFdFailure(e);
        }
        // The pending connection stays queued: wait before trying again, or this spins.
        backoff = Math.min(backoff ? backoff * 2 : 10, 1_000);
        await new Promise((r) => setTimeout(r, backoff));
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.TcpConn): void {
    const metrics = this.opts.metrics;
    if (this.#conns.size >= this.limits.maxConnections) {
      return this.#refuse(conn, `The gateway has ${this.limits.maxConnections} connections open`);
    }
    // A new client may need its own descriptor and two for a connection to the server.
    if (this.#fds + 3 > this.limits.maxFileDescriptors) {
      return this.#refuse(conn, "The gateway is at its limit of open files");
    }
    try {
      conn.setNoDelay(true);
    } catch { /* closed already */ }
    const c = new FrontConnection(this.#ctx, conn, addrLine(conn.remoteAddr));
    this.#conns.add(c);
    metrics.frontConnectionsOpen.add(1);
    metrics.frontConnections.inc({ outcome: "accepted" });
    c.run().catch((e) => {
      this.opts.log.warn("HTTP front connection failed", { error: e });
      c.close();
    });
  }

  /** Answers 503 and closes; past MAX_REFUSING such answers at once, closes at once. */
  #refuse(conn: Deno.TcpConn, detail: string): void {
    this.opts.metrics.frontConnections.inc({ outcome: "refused" });
    if (this.#refusing >= MAX_REFUSING) {
      try {
        conn.close();
      } catch { /* closed */ }
      return;
    }
    this.#refusing++;
    const bytes = problemResponse({ status: 503, detail, headers: { "retry-after": "1" } });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.#refusing--;
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed */ }
    };
    const timer = setTimeout(close, REFUSE_LINGER_MS);
    (async () => {
      await conn.write(bytes);
      await conn.closeWrite();
      // Read what the client sends until it closes: closing with unread bytes would reset
      // the connection, and the client could lose the 503.
      const buf = new Uint8Array(4096);
      for (let n = 0; n < 65_536;) {
        const r = await conn.read(buf);
        if (r === null) break;
        n += r;
      }
    })().catch(() => {}).finally(close);
  }

  #expire(): void {
    const now = performance.now();
    for (const c of this.#conns) if (c.deadline <= now) c.expire();
  }

  /** After an EMFILE: hold no more than now, less a margin for the rest of the process. */
  #learnFdLimit(): void {
    const budget = Math.max(16, this.#fds - 32);
    if (budget < this.limits.maxFileDescriptors) {
      this.limits.maxFileDescriptors = budget;
      this.opts.log.warn("HTTP front file-descriptor budget lowered after EMFILE", { budget });
    }
  }
}

const REASONS: Record<number, string> = {
  400: "bad_request",
  414: "uri_too_long",
  431: "headers_too_large",
  501: "not_implemented",
  502: "bad_gateway",
  503: "unavailable",
  505: "version_not_supported",
};

function isFdError(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

/** The client-address field line for a connection from `addr`. */
function addrLine(addr: Deno.NetAddr): Uint8Array {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return encoder.encode(`${CLIENT_ADDR_HEADER}: ${host}:${addr.port}\r\n`);
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
