/**
 * What one measured row yields (rate, latency percentiles, CPU of both
 * sides, errors), and the latency recorder behind it.
 */

/** One measured run. */
export interface Result {
  /** Operations done (messages, requests or pages). */
  ops: number;
  seconds: number;
  rate: number;
  /** Latency percentiles in ms. */
  p50?: number;
  p99?: number;
  /** CPU use during the run, in cores: the server's process and the client (this process or wrk). */
  serverCores?: number;
  clientCores?: number;
  /** CPU seconds of an external load generator (wrk), used instead of this process's. */
  clientCpuSeconds?: number;
  /** Bytes this process wrote to disk per operation (only when /proc/self/io is readable). */
  writtenPerOp?: number;
  errors: number;
  note?: string;
}

/** Latencies in ms, for percentiles. */
export class Latencies {
  #a = new Float64Array(1024);
  n = 0;

  add(ms: number): void {
    if (this.n === this.#a.length) {
      const b = new Float64Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.n++] = ms;
  }

  /** Nearest-rank percentile in ms; NaN when empty. */
  pct(p: number): number {
    if (this.n === 0) return NaN;
    const s = this.#a.slice(0, this.n).sort();
    return s[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))];
  }
}

/** The Result of `ops` operations in `seconds`, with the latencies collected in `lat`. */
export function resultOf(
  ops: number,
  seconds: number,
  lat: Latencies,
  errors: number,
  note?: string,
): Result {
  return { ops, seconds, rate: ops / seconds, p50: lat.pct(50), p99: lat.pct(99), errors, note };
}
