/**
 * Closed-loop measurement in this process: N concurrent loops each calling
 * the next operation as soon as the previous one returns, every loop bounded
 * by a count and a time limit.
 */
import { type CpuSource, withCpu } from "./cpu.ts";
import { Latencies, type Result, resultOf } from "./result.ts";

/** Runs `fn(k)` for k = 0..total-1 on `workers` concurrent loops, bounded by `maxSeconds`. */
export async function concurrently(
  workers: number,
  total: number,
  maxSeconds: number,
  fn: (k: number) => Promise<void>,
): Promise<{ done: number; seconds: number; timedOut: boolean }> {
  let next = 0, done = 0;
  const deadline = performance.now() + maxSeconds * 1000;
  let timedOut = false;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(workers, total) }, async () => {
    while (next < total) {
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const k = next++;
      await fn(k);
      done++;
    }
  }));
  return { done, seconds: (performance.now() - t0) / 1000, timedOut };
}

/** How `measure` checks, warms up and annotates. */
export interface MeasureOptions<T> {
  /** Whether a call went right; false counts an error (warm-up calls run it but do not count). */
  ok?: (value: T, k: number) => boolean;
  /** What to log for each of the first 3 errors. */
  explain?: (value: T) => string;
  /** Warm-up call k is call(warmAt + k); by default the indices after the timed ones. */
  warmAt?: number;
  /** Run the warm-up before the CPU measurement starts instead of inside it. */
  cpuAfterWarmUp?: boolean;
  note?: (run: { done: number; timedOut: boolean }) => string | undefined;
}

/** The shape of one measured phase. */
export interface Phase {
  /** Concurrent loops. */
  concurrency: number;
  /** Untimed calls first (JIT, connection pools). */
  warm: number;
  /** Timed calls. */
  total: number;
  maxSeconds: number;
}

/**
 * One measured phase: `warm` untimed calls, then calls k = 0..total-1 on `concurrency` loops.
 * `call(k)` does the untimed preparation of call k and returns the part whose latency is
 * recorded. CPU is measured as withCpu(server, …) does.
 *
 * @example
 * ```ts
 * const r = await measure(undefined, { concurrency: 4, warm: 200, total: 5000, maxSeconds: 60 },
 *   (k) => () => kv.get(keys[k]), { ok: (e) => e.versionstamp !== null });
 * ```
 */
export async function measure<T>(
  server: CpuSource | undefined,
  phase: Phase,
  call: (k: number) => () => Promise<T>,
  opts: MeasureOptions<T> = {},
): Promise<Result> {
  const { concurrency: conc, warm, total, maxSeconds } = phase;
  const { ok = () => true, warmAt = total } = opts;
  const warmUp = async () => {
    if (warm === 0) return;
    await concurrently(conc, warm, maxSeconds, async (k) => {
      ok(await call(warmAt + k)(), warmAt + k);
    });
  };
  if (opts.cpuAfterWarmUp) await warmUp();
  return await withCpu(server, async () => {
    if (!opts.cpuAfterWarmUp) await warmUp();
    const lat = new Latencies();
    let errors = 0;
    const run = await concurrently(conc, total, maxSeconds, async (k) => {
      const timed = call(k);
      const t0 = performance.now();
      const value = await timed();
      lat.add(performance.now() - t0);
      if (!ok(value, k)) {
        errors++;
        if (opts.explain && errors <= 3) console.error(opts.explain(value));
      }
    });
    return resultOf(run.done, run.seconds, lat, errors, opts.note?.(run));
  });
}
