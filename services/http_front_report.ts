/**
 * What the HTTP front's edge (accept loop and connections) tells the rest of
 * the gateway: counter increments, gauge changes and log lines. The edge
 * may run in a worker, where the gateway's Metrics and Logger are out of
 * reach, so it reports through this small interface: on the main thread a
 * FrontStats applies each report at once; in a worker a BatchReporter sums
 * them and posts one batch now and then, which the main thread's FrontStats
 * applies. Nothing here is per request: only connections, refusals,
 * timeouts and errors are counted, so batches stay small.
 */
import type { Logger } from "../lib/log.ts";
import { describeError } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";

/** Counters of the front, each with its one label. */
export type FrontCounter = "connections" | "refused" | "timeouts" | "acceptErrors";
/** Gauges of the front. */
export type FrontGauge = "connectionsOpen" | "upstreamOpen";

/** Where the edge reports to. */
export interface EdgeReporter {
  /** Adds 1 to `counter` for its label value (outcome, reason, phase or code). */
  count(counter: FrontCounter, label: string): void;
  gauge(gauge: FrontGauge, delta: number): void;
  log(level: "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}

/** Reports summed over a while, as a worker posts them (structured-cloneable). */
export interface ReportBatch {
  /** [counter, label, increment] */
  counts: [FrontCounter, string, number][];
  gauges: Partial<Record<FrontGauge, number>>;
  logs: ["warn" | "error", string, Record<string, unknown>][];
}

const LABELS: Record<FrontCounter, string> = {
  connections: "outcome",
  refused: "reason",
  timeouts: "phase",
  acceptErrors: "code",
};

/**
 * The main thread's end: applies reports to the gateway's metrics and log,
 * and keeps the number of open client connections.
 *
 * @example
 * ```ts
 * const stats = new FrontStats(createMetrics(), createLogger("info"));
 * stats.gauge("connectionsOpen", 1);
 * stats.connections; // 1
 * ```
 */
export class FrontStats implements EdgeReporter {
  /** Client connections open, as last reported. */
  connections = 0;

  constructor(private readonly metrics: Metrics, private readonly logger: Logger) {}

  count(counter: FrontCounter, label: string, by = 1): void {
    const labels = { [LABELS[counter]]: label };
    switch (counter) {
      case "connections":
        return this.metrics.frontConnections.inc(labels, by);
      case "refused":
        return this.metrics.frontRefused.inc(labels, by);
      case "timeouts":
        return this.metrics.frontTimeouts.inc(labels, by);
      case "acceptErrors":
        return this.metrics.frontAcceptErrors.inc(labels, by);
    }
  }

  gauge(gauge: FrontGauge, delta: number): void {
    if (gauge === "connectionsOpen") {
      this.connections += delta;
      this.metrics.frontConnectionsOpen.add(delta);
    } else {
      this.metrics.frontUpstreamOpen.add(delta);
    }
  }

  log(level: "warn" | "error", msg: string, fields?: Record<string, unknown>): void {
    this.logger[level](msg, fields);
  }

  /** Applies a batch a worker posted. */
  apply(batch: ReportBatch): void {
    for (const [counter, label, by] of batch.counts) this.count(counter, label, by);
    for (const [gauge, delta] of Object.entries(batch.gauges)) {
      if (delta) this.gauge(gauge as FrontGauge, delta);
    }
    for (const [level, msg, fields] of batch.logs) this.log(level, msg, fields);
  }
}

/** How long a worker holds reports before posting them. */
const BATCH_MS = 20;

/**
 * The worker's end: sums reports and posts them as one ReportBatch at most
 * every BATCH_MS, or at once on `flush()`.
 *
 * @example
 * ```ts
 * const reporter = new BatchReporter((batch) => self.postMessage({ type: "report", batch }));
 * reporter.count("refused", "uri_too_long");
 * reporter.flush(); // posts { counts: [["refused", "uri_too_long", 1]], gauges: {}, logs: [] }
 * ```
 */
export class BatchReporter implements EdgeReporter {
  #counts = new Map<string, [FrontCounter, string, number]>();
  #gauges: Partial<Record<FrontGauge, number>> = {};
  #logs: ReportBatch["logs"] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly post: (batch: ReportBatch) => void) {}

  count(counter: FrontCounter, label: string): void {
    const key = `${counter}\u0000${label}`;
    const entry = this.#counts.get(key);
    if (entry) entry[2]++;
    else this.#counts.set(key, [counter, label, 1]);
    this.#schedule();
  }

  gauge(gauge: FrontGauge, delta: number): void {
    this.#gauges[gauge] = (this.#gauges[gauge] ?? 0) + delta;
    this.#schedule();
  }

  log(level: "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void {
    // Errors lose their class when cloned across threads: send their text.
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) {
      plain[k] = v instanceof Error ? describeError(v) : v;
    }
    this.#logs.push([level, msg, plain]);
    this.#schedule();
  }

  /** Posts what is held now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#counts.size === 0 && this.#logs.length === 0 && !hasAny(this.#gauges)) return;
    const batch: ReportBatch = {
      counts: [...this.#counts.values()],
      gauges: this.#gauges,
      logs: this.#logs,
    };
    this.#counts = new Map();
    this.#gauges = {};
    this.#logs = [];
    this.post(batch);
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }
}

function hasAny(gauges: Partial<Record<FrontGauge, number>>): boolean {
  for (const k in gauges) if (gauges[k as FrontGauge]) return true;
  return false;
}
