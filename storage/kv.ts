/**
 * Opening Deno KV once, and committing atomics with the retry that local
 * SQLite needs when a second process holds the write lock.
 */
import type { Metrics } from "../lib/metrics.ts";

/** What one atomic commit may hold on this KV (remote KV allows fewer checks). */
export interface KvLimits {
  maxChecks: number;
  maxMutations: number;
  maxBytes: number;
}

/** Largest value we write in one KV entry; KV's own limit is 65,536 bytes. */
export const MAX_VALUE_BYTES = 60 * 1024;

/** KV with the limits that apply to it and the metrics its commits count toward. */
export interface Store {
  kv: Deno.Kv;
  limits: KvLimits;
  metrics: Metrics;
}

/**
 * Opens KV: a file path (its directory is created), `:memory:`, an http(s)
 * KV Connect URL, or undefined for Deno.openKv()'s default (Deploy).
 */
export async function openStore(path: string | undefined, metrics: Metrics): Promise<Store> {
  const remote = path === undefined || /^https?:\/\//.test(path);
  if (path && !remote && path !== ":memory:") {
    const dir = path.replace(/[^/]*$/, "");
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  const kv = await Deno.openKv(path);
  return {
    kv,
    metrics,
    limits: { maxChecks: remote ? 10 : 100, maxMutations: 1000, maxBytes: 800 * 1024 },
  };
}

const isLocked = (e: unknown) => e instanceof Error && /database is locked|busy/i.test(e.message);

/**
 * Builds and commits an atomic operation, retrying (with a fresh build) while
 * another process holds the SQLite write lock. Returns KV's commit result.
 */
export async function commit(
  store: Store,
  name: string,
  build: (op: Deno.AtomicOperation) => void,
): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  for (let attempt = 0;; attempt++) {
    const op = store.kv.atomic();
    build(op);
    try {
      const res = await op.commit();
      store.metrics.kvCommits.inc({ store: name, outcome: res.ok ? "ok" : "conflict" });
      return res;
    } catch (e) {
      if (!isLocked(e) || attempt >= 50) {
        store.metrics.kvCommits.inc({ store: name, outcome: "error" });
        throw e;
      }
      await new Promise((r) => setTimeout(r, Math.min(200, 2 ** attempt) + Math.random() * 5));
    }
  }
}
