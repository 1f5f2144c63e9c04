/**
 * Raw Deno KV baselines: the same writes or reads a gateway row does, done
 * by the bench straight on a KV file of its own, so a row's ratio shows what
 * the gateway adds around its storage. The writes come from the caller, who
 * takes them from the repository's own key builders (storage/): a baseline
 * never restates a key layout.
 */
import { bytesWritten, cpuSelf } from "./cpu.ts";
import { measure, type Phase } from "./measure.ts";
import { Latencies, type Result } from "./result.ts";

/** What one item (a message, say) adds to a commit. */
export interface RawWrites {
  sets: readonly (readonly [Deno.KvKey, unknown])[];
  /** Keys checked to be absent (versionstamp null). */
  checks?: readonly Deno.KvKey[];
  /** Sums (KvU64) to add; equal keys within a commit are merged into one sum, as a repository's counter is. */
  sums?: readonly (readonly [Deno.KvKey, bigint])[];
}

/** Commits one atomic; baselines run on private files, so a failed check is a bug. */
export async function commitRaw(op: Deno.AtomicOperation): Promise<void> {
  const res = await op.commit();
  if (!res.ok) throw new Error("A raw KV commit failed a check");
}

/** How rawCommits runs. */
export interface RawCommits {
  /** Items per atomic commit. */
  perCommit: number;
  /** The writes of item i (prepared untimed). */
  writesOf: (i: number) => RawWrites;
  /** KV work run every `every` items and at the end (an indexer, say); its time counts. */
  every?: number;
  between?: () => Promise<void>;
}

/**
 * Writes items [from, to) in atomics of `perCommit`, timing only the KV calls (preparing the
 * writes is excluded), so the rate is the KV floor for those writes. p50/p99 are per commit.
 *
 * @example
 * ```ts
 * const r = await rawCommits(kv, 0, 100_000, {
 *   perCommit: 500,
 *   writesOf: (i) => ({ sets: [[["log", BigInt(i)], payloadOf(i)]] }),
 * });
 * ```
 */
export async function rawCommits(
  kv: Deno.Kv,
  from: number,
  to: number,
  run: RawCommits,
): Promise<Result> {
  let kvMs = 0;
  const lat = new Latencies();
  const c0 = cpuSelf(), w0 = performance.now(), b0 = bytesWritten();
  let sinceBetween = 0;
  for (let lo = from; lo < to; lo += run.perCommit) {
    const hi = Math.min(to, lo + run.perCommit);
    const op = kv.atomic();
    const sums = new Map<string, [Deno.KvKey, bigint]>();
    for (let i = lo; i < hi; i++) {
      const w = run.writesOf(i);
      for (const key of w.checks ?? []) op.check({ key, versionstamp: null });
      for (const [k, v] of w.sets) op.set(k, v);
      for (const [key, n] of w.sums ?? []) {
        const id = JSON.stringify(key, (_k, v) => typeof v === "bigint" ? `${v}n` : v);
        const s = sums.get(id);
        if (s) s[1] += n;
        else sums.set(id, [key, n]);
      }
    }
    for (const [key, n] of sums.values()) op.sum(key, n);
    const t0 = performance.now();
    await commitRaw(op);
    const ms = performance.now() - t0;
    kvMs += ms;
    lat.add(ms);
    sinceBetween += hi - lo;
    if (run.between && (sinceBetween >= (run.every ?? Infinity) || hi === to)) {
      const t1 = performance.now();
      await run.between();
      kvMs += performance.now() - t1;
      sinceBetween = 0;
    }
  }
  const wall = (performance.now() - w0) / 1000;
  return {
    ops: to - from,
    seconds: kvMs / 1000,
    rate: (to - from) / (kvMs / 1000),
    p50: lat.pct(50),
    p99: lat.pct(99),
    clientCores: (cpuSelf() - c0) / wall,
    writtenPerOp: b0 === undefined ? undefined : (bytesWritten()! - b0) / (to - from),
    errors: 0,
  };
}

/**
 * Raw `kv.list` pages of `limit` entries, page k from `selectorOf(k)`, on `phase.concurrency`
 * concurrent callers; a page with fewer entries is an error.
 */
export function rawListPages(
  kv: Deno.Kv,
  phase: Phase,
  limit: number,
  selectorOf: (k: number) => Deno.KvListSelector,
): Promise<Result> {
  return measure(undefined, phase, (k) => {
    const selector = selectorOf(k);
    return async () => {
      let n = 0;
      for await (const _ of kv.list(selector, { limit, batchSize: limit })) n++;
      return n;
    };
  }, { ok: (n) => n === limit });
}
