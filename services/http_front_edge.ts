/**
 * The accepting side of the HTTP front: the TCP listener, admission (the
 * connection cap and the file-descriptor budget), every client connection
 * and its timers, and the pool of connections to the server behind. It
 * needs nothing of the app but the path of the server's unix socket, and
 * reports through an EdgeReporter, so it runs as well in a worker
 * (services/http_front_worker.ts) as on the main thread.
 */
import { type Problem, problemResponse } from "../protocols/http1/problem.ts";
import { type ConnContext, FrontConnection } from "./http_front_conn.ts";
import type { FrontLimits } from "./http_front_limits.ts";
import type { EdgeReporter } from "./http_front_report.ts";
import { type Upstream, type UpstreamOwner, UpstreamPool } from "./upstream_pool.ts";

/** Options of a FrontEdge. */
export interface EdgeOptions {
  hostname: string;
  port: number;
  limits: FrontLimits;
  /** Lower-case name of the field that carries the client's address to the app. */
  clientAddrHeader: string;
  /** The unix socket the server behind listens on. */
  upstreamPath: string;
}

const encoder = new TextEncoder();
/** At most one log line of the front's 503 refusals in this long. */
const BUSY_LOG_MS = 10_000;

/** How long a connection refused at accept is read after its 503, and how many may be. */
const REFUSE_LINGER_MS = 1_000, MAX_REFUSING = 64;

/**
 * The edge; listening once constructed (the constructor throws as
 * `Deno.listen` does), accepting once started.
 *
 * @example
 * ```ts
 * const edge = new FrontEdge(
 *   { hostname: "127.0.0.1", port: 0, limits, clientAddrHeader: "x-client", upstreamPath },
 *   reporter,
 * );
 * edge.start();
 * // …
 * await edge.drain();  // no new connections; idle ones closed
 * await edge.finish(); // the rest closed
 * ```
 */
export class FrontEdge {
  readonly addr: Deno.NetAddr;
  readonly limits: FrontLimits;
  #listener: Deno.TcpListener;
  #conns = new Set<FrontConnection>();
  #refusing = 0;
  #pool: UpstreamPool;
  #upstreamPath: string;
  #ctx: ConnContext;
  #accepting: Promise<void> | undefined;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #draining = false;
  #lastFdLog = -Infinity;
  #busyLoggedAt = -Infinity;

  constructor(opts: EdgeOptions, private readonly report: EdgeReporter) {
    this.limits = { ...opts.limits };
    this.#upstreamPath = opts.upstreamPath;
    this.#listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
    this.addr = this.#listener.addr;
    this.#pool = new UpstreamPool(
      () => this.#connect(),
      this.limits.maxIdleUpstream,
      (delta) => report.gauge("upstreamOpen", delta),
    );
    this.#ctx = {
      headLimits: this.limits,
      headerTimeoutMs: this.limits.headerTimeoutMs,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      writeStallTimeoutMs: this.limits.writeStallTimeoutMs,
      clientAddrHeader: opts.clientAddrHeader,
      pool: this.#pool,
      acquire: (owner) => this.#acquire(owner),
      refused: (problem, client) => {
        if (problem.status !== 408) {
          report.count("refused", REASONS[problem.status] ?? String(problem.status));
        }
        // A 5xx the front answers itself is logged like the app's: a 502 is the app failing a
        // request; a 503 is a limit reached (connections, descriptors), which a flood repeats,
        // so it is logged at most once every BUSY_LOG_MS (the counter has them all).
        if (problem.status === 503) {
          const now = performance.now();
          if (now - this.#busyLoggedAt < BUSY_LOG_MS) return;
          this.#busyLoggedAt = now;
        }
        if (problem.status >= 500) {
          report.log(
            problem.status === 503 ? "warn" : "error",
            "HTTP front answered " +
              problem.status,
            { client, detail: problem.detail },
          );
        }
      },
      timedOut: (phase) => report.count("timeouts", phase),
      draining: () => this.#draining,
      closed: (conn) => {
        if (this.#conns.delete(conn)) report.gauge("connectionsOpen", -1);
      },
    };
  }

  /** Client connections open now. */
  get connections(): number {
    return this.#conns.size;
  }

  /** File descriptors held: clients, refusals in progress, and both ends of each upstream. */
  get #fds(): number {
    return this.#conns.size + this.#refusing + 2 * this.#pool.open;
  }

  start(): void {
    this.#accepting = this.#acceptLoop();
    const l = this.limits;
    const tick = Math.max(
      10,
      Math.min(1_000, l.headerTimeoutMs / 4, l.idleTimeoutMs / 4, l.writeStallTimeoutMs / 4),
    );
    this.#sweep = setInterval(() => this.#expire(), tick);
  }

  /** The server behind listens on a new socket: connect there from now on. */
  setUpstream(path: string): void {
    this.#upstreamPath = path;
  }

  /** The server behind failed (`fdError`: out of file descriptors): its idle connections go. */
  serverFailed(fdError: boolean): void {
    if (fdError) this.#learnFdLimit();
    this.#pool.closeIdle();
  }

  /** Stops accepting and closes idle connections; busy ones close once idle. */
  async drain(): Promise<void> {
    this.#draining = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#accepting;
    for (const c of this.#conns) if (c.idle) c.close();
  }

  /** After the server has finished: gives answers on their way a moment, then closes all. */
  async finish(): Promise<void> {
    for (let i = 0; i < 100 && this.#conns.size > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    clearInterval(this.#sweep);
    for (const c of [...this.#conns]) c.close();
    this.#pool.closeIdle();
  }

  // ---- the server behind ----

  #connect(): Promise<Deno.Conn> {
    // Room for this end and the server's, so the server's accept never meets EMFILE.
    if (this.#fds + 2 > this.limits.maxFileDescriptors) {
      return Promise.reject(Object.assign(new Error("File descriptor budget reached"), {
        code: "BUDGET",
      }));
    }
    return Deno.connect({ transport: "unix", path: this.#upstreamPath });
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
        if (this.#draining || e instanceof Deno.errors.BadResource) return;
        this.report.count("acceptErrors", (e as { code?: string }).code ?? (e as Error).name);
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
    const c = new FrontConnection(this.#ctx, conn, addrLine(this.#ctx.clientAddrHeader, conn));
    this.#conns.add(c);
    this.report.gauge("connectionsOpen", 1);
    this.report.count("connections", "accepted");
    c.run().catch((e) => {
      this.report.log("warn", "HTTP front connection failed", { error: e });
      c.close();
    });
  }

  /** Answers 503 and closes; past MAX_REFUSING such answers at once, closes at once. */
  #refuse(conn: Deno.TcpConn, detail: string): void {
    this.report.count("connections", "refused");
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
    for (const c of this.#conns) {
      if (c.deadline <= now || c.writeDeadline <= now) c.expire(now);
    }
  }

  /** After an EMFILE: hold no more than now, less a margin for the rest of the process. */
  #learnFdLimit(): void {
    const budget = Math.max(16, this.#fds - 32);
    if (budget < this.limits.maxFileDescriptors) {
      this.limits.maxFileDescriptors = budget;
      this.report.log("warn", "HTTP front file-descriptor budget lowered after EMFILE", { budget });
    }
  }

  /** Logs running out of descriptors, at most every 10 s. */
  #logFdFailure(e: unknown): void {
    const now = performance.now();
    if (now - this.#lastFdLog < 10_000) return;
    this.#lastFdLog = now;
    this.report.log("error", "HTTP front is out of file descriptors", { error: e });
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

/** The client-address field line for a connection, CRLF included. */
function addrLine(name: string, conn: Deno.TcpConn): Uint8Array {
  const addr = conn.remoteAddr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return encoder.encode(`${name}: ${host}:${addr.port}\r\n`);
}
