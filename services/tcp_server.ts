/**
 * A TCP listener for peer protocols: accepts connections and runs one
 * handler per connection. A handler that throws ends only its own
 * connection; stop() closes the listener and every open connection.
 */
import type { Logger } from "../lib/log.ts";
import type { Service } from "./service.ts";

/** Runs one connection until it ends; `signal` aborts when the server stops. */
export type ConnectionHandler = (conn: Deno.Conn, signal: AbortSignal) => Promise<void>;

export interface TcpServerOptions {
  name: string;
  hostname: string;
  port: number;
  /** Connections beyond this are closed at once. */
  maxConnections: number;
  log: Logger;
}

export class TcpServer implements Service {
  #listener?: Deno.TcpListener;
  #conns = new Set<Deno.Conn>();
  #running = new Set<Promise<void>>();
  #abort = new AbortController();
  #accepting?: Promise<void>;

  constructor(
    private readonly opts: TcpServerOptions,
    private readonly handler: ConnectionHandler,
  ) {}

  /** The bound address, once started. */
  get addr(): Deno.NetAddr {
    if (!this.#listener) throw new Error(`${this.opts.name} listener is not started`);
    return this.#listener.addr;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#conns.size;
  }

  start(): void {
    this.#listener = Deno.listen({
      hostname: this.opts.hostname,
      port: this.opts.port,
      transport: "tcp",
    });
    this.#accepting = this.#acceptLoop(this.#listener);
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      if (this.#conns.size >= this.opts.maxConnections) {
        this.opts.log.warn("connection refused: too many", { listener: this.opts.name });
        conn.close();
        continue;
      }
      this.#conns.add(conn);
      const run = this.handler(conn, this.#abort.signal)
        .catch((e) =>
          this.opts.log.warn("connection failed", { listener: this.opts.name, error: e })
        )
        .finally(() => {
          this.#conns.delete(conn);
          this.#running.delete(run);
          try {
            conn.close();
          } catch { /* already closed */ }
        });
      this.#running.add(run);
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    await this.#accepting;
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    await Promise.all(this.#running);
  }
}
