/**
 * Connections from the HTTP front to the server behind it, kept for reuse.
 * A client connection leases one only while it has a request in flight, so
 * an idle keep-alive client holds one file descriptor instead of three (its
 * own, the front's upstream end and the server's end).
 *
 * Each upstream connection has one read loop for its whole life; what it
 * reads goes to the current lessee, which answers when the bytes are passed
 * on (backpressure). Bytes from an unleased connection break the protocol,
 * so that connection is closed.
 */

/** Who gets an upstream connection's bytes while it leases it. */
export interface UpstreamOwner {
  /** Bytes read; the read loop waits for the returned promise before reading on. */
  upstreamData(bytes: Uint8Array, from: Upstream): Promise<void>;
  /** The server closed the connection, or it failed. */
  upstreamEnd(from: Upstream): void;
}

/** Read buffers: small for short answers, large once a read fills the small one. */
const SMALL_READ = 16 * 1024,
  LARGE_READ = 64 * 1024;

/** One connection to the server. */
export class Upstream {
  owner: UpstreamOwner | undefined;
  #closed = false;

  constructor(readonly conn: Deno.Conn, private readonly pool: UpstreamPool) {
    this.#readLoop();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Writes all of `bytes`; throws if the connection fails. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.pool.closed(this);
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(SMALL_READ);
    for (;;) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        n = null;
      }
      const owner = this.owner;
      if (n === null) {
        this.close();
        owner?.upstreamEnd(this);
        return;
      }
      if (!owner) return this.close();
      await owner.upstreamData(buf.subarray(0, n), this);
      if (n === buf.length && buf.length < LARGE_READ) buf = new Uint8Array(LARGE_READ);
    }
  }
}

/** Opens connections to the server; may throw (EMFILE, server restarting). */
export type Connector = () => Promise<Deno.Conn>;

/**
 * Idle upstream connections, at most `maxIdle` of them.
 *
 * @example
 * ```ts
 * const pool = new UpstreamPool(() => Deno.connect({ transport: "unix", path }), 64);
 * const up = await pool.acquire(owner); // owner now gets up's bytes
 * pool.release(up);                     // back to the pool when its exchange is done
 * ```
 */
export class UpstreamPool {
  #idle: Upstream[] = [];
  #open = 0;

  constructor(
    public connect: Connector,
    readonly maxIdle: number,
    /** Told of each connection opened (+1) and closed (-1). */
    private readonly onOpenChange: (delta: number) => void = () => {},
  ) {}

  /** Upstream connections open, leased or idle. */
  get open(): number {
    return this.#open;
  }

  /** An idle connection, else a new one, leased to `owner`. */
  async acquire(owner: UpstreamOwner): Promise<Upstream> {
    let up = this.#idle.pop();
    while (up?.closed) up = this.#idle.pop();
    if (!up) {
      const conn = await this.connect();
      this.#open++;
      this.onOpenChange(1);
      up = new Upstream(conn, this);
    }
    up.owner = owner;
    return up;
  }

  /** Returns a connection whose exchanges are complete. */
  release(up: Upstream): void {
    up.owner = undefined;
    if (up.closed) return;
    if (this.#idle.length >= this.maxIdle) up.close();
    else this.#idle.push(up);
  }

  /** Closes every idle connection (their server is gone, or the front is closing). */
  closeIdle(): void {
    for (const up of this.#idle.splice(0)) up.close();
  }

  /** Called by a connection as it closes. */
  closed(up: Upstream): void {
    this.#open--;
    this.onOpenChange(-1);
    const i = this.#idle.indexOf(up);
    if (i >= 0) this.#idle.splice(i, 1);
  }
}
