/**
 * A small Prometheus registry: counters, gauges and histograms with labels,
 * rendered in the text exposition format. Shared by every layer, so it
 * imports nothing from them.
 */

type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labelCache = new Map<string, string>();
const labelText = (labels: Labels) => {
  // The same few label sets recur on every request: render each once, keyed cheaply.
  let id = "";
  for (const k in labels) id += k + "\u0000" + labels[k] + "\u0000";
  let text = labelCache.get(id);
  if (text === undefined) {
    const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
    text = parts.length ? `{${parts.join(",")}}` : "";
    if (labelCache.size < 10_000) labelCache.set(id, text);
  }
  return text;
};

interface Metric {
  render(): string;
}

/** A number per label set, rendered as one Prometheus metric family. */
class LabeledValues implements Metric {
  #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, private readonly type: string) {}
  protected change(labels: Labels, by: number): void {
    const key = labelText(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [k, v] of this.#values) lines.push(`${this.name}${k} ${v}`);
    if (this.#values.size === 0) lines.push(`${this.name} 0`);
    return lines.join("\n");
  }
}

/** A monotonically increasing count per label set. */
export class Counter extends LabeledValues {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    this.change(labels, by);
  }
}

/** A value that goes up and down. */
export class Gauge extends LabeledValues {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  add(by: number, labels: Labels = {}): void {
    this.change(labels, by);
  }
}

/** Cumulative buckets, sum and count per label set. */
export class Histogram implements Metric {
  #series = new Map<string, { counts: number[]; sum: number; count: number; labels: Labels }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {}
  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let s = this.#series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0, labels };
      this.#series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.#series.values()) {
      this.buckets.forEach((b, i) =>
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`)
      );
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** Holds the metrics one gateway instance exposes at /metrics. */
export class Registry {
  #metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }
  render(): string {
    return this.#metrics.map((m) => m.render()).join("\n") + "\n";
  }
}

/** The gateway's metrics; one set per process, created by createMetrics. */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter;
  httpDuration: Histogram;
  kvCommits: Counter;
  openWebSockets: Gauge;
  liveSubscribers: Gauge;
  liveDropped: Counter;
  /** Peer connections holding a slot of a listener (handshaking or served), by listener. */
  peerConnectionsOpen: Gauge;
  /** Peer connections by listener and outcome: accepted, refused, failed. */
  peerConnections: Counter;
  /** accept() calls that failed (EMFILE and the like), by listener. */
  peerAcceptErrors: Counter;
  /** Client connections the HTTP front holds open. */
  frontConnectionsOpen: Gauge;
  /** Client connections by outcome: accepted, refused (over a limit). */
  frontConnections: Counter;
  /** Requests the HTTP front answered itself with an error, by reason. */
  frontRefused: Counter;
  /** Client connections the HTTP front closed on a timeout, by phase (header, idle). */
  frontTimeouts: Counter;
  /** Failed accept() calls of the HTTP front, by error code (EMFILE…). */
  frontAcceptErrors: Counter;
  /** Connections from the HTTP front to the server behind it (leased or pooled). */
  frontUpstreamOpen: Gauge;
  /** Bytes all live subscribers have waiting (the hub's queues and their transports). */
  liveHeldBytes: Gauge;
  /** Live subscribers closed because all together passed the total live buffer, by channel. */
  liveShed: Counter;
}

/** Creates a fresh registry with the gateway's standard metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  return {
    registry,
    httpRequests: registry.register(
      new Counter("syncgate_http_requests_total", "HTTP requests by route, method and status."),
    ),
    httpDuration: registry.register(
      new Histogram(
        "syncgate_http_request_duration_seconds",
        "HTTP request latency by route and method.",
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ),
    ),
    kvCommits: registry.register(
      new Counter("syncgate_kv_commits_total", "Deno KV atomic commits by store and outcome."),
    ),
    openWebSockets: registry.register(
      new Gauge("syncgate_websockets_open", "WebSocket connections currently open."),
    ),
    liveSubscribers: registry.register(
      new Gauge("syncgate_live_subscribers", "Live (WebSocket and SSE) subscribers by channel."),
    ),
    liveDropped: registry.register(
      new Counter(
        "syncgate_live_dropped_total",
        "Live subscribers disconnected for falling behind.",
      ),
    ),
    peerConnectionsOpen: registry.register(
      new Gauge("syncgate_peer_connections_open", "Peer connections open, by listener."),
    ),
    peerConnections: registry.register(
      new Counter(
        "syncgate_peer_connections_total",
        "Peer connections by listener and outcome: accepted (admitted), refused (over the " +
          "listener's limit), failed (TLS handshake failed or the handler threw).",
      ),
    ),
    peerAcceptErrors: registry.register(
      new Counter(
        "syncgate_peer_accept_errors_total",
        "Failed accept() calls by listener (such as EMFILE); the listener backs off and goes on.",
      ),
    ),
    frontConnectionsOpen: registry.register(
      new Gauge("syncgate_front_connections_open", "Client connections the HTTP front holds open."),
    ),
    frontConnections: registry.register(
      new Counter(
        "syncgate_front_connections_total",
        "Client connections of the HTTP front by outcome: accepted, refused (over the " +
          "connection or file-descriptor limit; answered 503).",
      ),
    ),
    frontRefused: registry.register(
      new Counter(
        "syncgate_front_refused_total",
        "Requests the HTTP front answered itself with a problem (malformed head, limits, " +
          "no upstream), by reason.",
      ),
    ),
    frontTimeouts: registry.register(
      new Counter(
        "syncgate_front_timeouts_total",
        "Client connections the HTTP front closed on a timeout, by phase (header, idle).",
      ),
    ),
    frontAcceptErrors: registry.register(
      new Counter(
        "syncgate_front_accept_errors_total",
        "Failed accept() calls of the HTTP front by code (such as EMFILE); it backs off and goes on.",
      ),
    ),
    frontUpstreamOpen: registry.register(
      new Gauge(
        "syncgate_front_upstream_connections_open",
        "Connections from the HTTP front to the server behind it, leased or pooled.",
      ),
    ),
    liveHeldBytes: registry.register(
      new Gauge(
        "syncgate_live_buffered_bytes",
        "Bytes live subscribers have waiting, in the gateway's queues and their transports, " +
          "all subscribers together.",
      ),
    ),
    liveShed: registry.register(
      new Counter(
        "syncgate_live_shed_total",
        "Live subscribers closed because all together passed the total live buffer (those " +
          "furthest behind first); also counted in syncgate_live_dropped_total.",
      ),
    ),
  };
}
