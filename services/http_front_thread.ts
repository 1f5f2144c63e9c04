/**
 * The front's edge (services/http_front_edge.ts) in a worker of its own, as
 * the main thread sees it: the messages between the two, and WorkerEdge,
 * which drives the worker (services/http_front_worker.ts) and applies what
 * it reports. With the edge on its own thread, the client sockets' reads and
 * writes, the head parsing and the relaying run beside the app instead of
 * between its requests; the main thread keeps only `Deno.serve`'s own work.
 */
import type { EdgeOptions } from "./http_front_edge.ts";
import type { FrontStats, ReportBatch } from "./http_front_report.ts";

/** What the front needs of its edge, wherever it runs. */
export interface EdgeHandle {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** The server behind listens on a new socket. */
  setUpstream(path: string): void;
  /** The server behind failed (`fdError`: out of file descriptors). */
  serverFailed(fdError: boolean): void;
  /** Stops accepting and closes idle connections. */
  drain(): Promise<void>;
  /** Closes every connection; the edge is gone after. */
  finish(): Promise<void>;
}

/** Messages to the worker. */
export type ToEdge =
  | { type: "start"; opts: EdgeOptions }
  | { type: "upstream"; path: string }
  | { type: "serverFailed"; fdError: boolean }
  | { type: "drain" }
  | { type: "finish" };

/** Messages from the worker. */
export type FromEdge =
  | { type: "listening"; addr: Deno.NetAddr }
  | { type: "failed"; name: string; message: string }
  | { type: "report"; batch: ReportBatch }
  | { type: "drained" }
  | { type: "finished" };

type Reply = "listening" | "drained" | "finished";

/**
 * An edge running in a worker.
 *
 * @example
 * ```ts
 * const edge = await WorkerEdge.start(edgeOptions, new FrontStats(metrics, log));
 * console.log(edge.addr.port);
 * await edge.drain();
 * await edge.finish(); // the worker is terminated
 * ```
 */
export class WorkerEdge implements EdgeHandle {
  addr: Deno.NetAddr = { transport: "tcp", hostname: "", port: 0 };
  #worker: Worker;
  #waiting = new Map<Reply, PromiseWithResolvers<unknown>>();
  #starting = true;
  #failed: Error | undefined;

  private constructor(private readonly stats: FrontStats) {
    this.#worker = new Worker(new URL("./http_front_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<FromEdge>) => this.#receive(e.data);
    this.#worker.onerror = (e) => {
      // Once started, not prevented: a bug in the edge ends the process, as it would on the
      // main thread. While starting, startFront rejects instead.
      if (this.#starting) e.preventDefault();
      else stats.log("error", "HTTP front worker failed", { error: e.message });
      this.#failed = new Error(`HTTP front worker failed: ${e.message}`);
      for (const w of this.#waiting.values()) w.reject(this.#failed);
      this.#waiting.clear();
    };
  }

  /** Starts a worker and its edge; resolves once it listens, rejects as `Deno.listen` would. */
  static async start(opts: EdgeOptions, stats: FrontStats): Promise<WorkerEdge> {
    const edge = new WorkerEdge(stats);
    try {
      edge.addr = await edge.#ask({ type: "start", opts }, "listening") as Deno.NetAddr;
    } catch (e) {
      edge.#worker.terminate();
      throw e;
    }
    edge.#starting = false;
    return edge;
  }

  setUpstream(path: string): void {
    this.#worker.postMessage({ type: "upstream", path } satisfies ToEdge);
  }

  serverFailed(fdError: boolean): void {
    this.#worker.postMessage({ type: "serverFailed", fdError } satisfies ToEdge);
  }

  async drain(): Promise<void> {
    await this.#ask({ type: "drain" }, "drained");
  }

  async finish(): Promise<void> {
    try {
      await this.#ask({ type: "finish" }, "finished");
    } finally {
      this.#worker.terminate();
    }
  }

  #ask(message: ToEdge, reply: Reply): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const waiter = Promise.withResolvers<unknown>();
    this.#waiting.set(reply, waiter);
    this.#worker.postMessage(message);
    return waiter.promise;
  }

  #receive(m: FromEdge): void {
    switch (m.type) {
      case "report":
        return this.stats.apply(m.batch);
      case "failed": {
        // The listen error, as the class `Deno.listen` threw on the worker (AddrInUse…).
        const classes = Deno.errors as unknown as Record<string, ErrorConstructor | undefined>;
        const error = new (classes[m.name] ?? Error)(m.message);
        this.#waiting.get("listening")?.reject(error);
        this.#waiting.delete("listening");
        return;
      }
      default: {
        const value = m.type === "listening" ? m.addr : undefined;
        this.#waiting.get(m.type)?.resolve(value);
        this.#waiting.delete(m.type);
      }
    }
  }
}
