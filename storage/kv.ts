/**
 * Opening Deno KV once, and committing atomics with the retry that local
 * SQLite needs when a second process holds the write lock.
 */
import { utf8Length } from "../lib/bytes.ts";
import type { Metrics } from "../lib/metrics.ts";

/** What one atomic commit may hold on this KV (remote KV allows fewer checks). */
export interface KvLimits {
  maxChecks: number;
  maxMutations: number;
  /** Total size of a commit's mutations (keys and values). */
  maxBytes: number;
  /** Total size of the keys a commit names (mutations and checks). */
  maxKeyBytes: number;
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
    limits: {
      maxChecks: remote ? 10 : 100,
      maxMutations: 1000,
      maxBytes: 800 * 1024,
      maxKeyBytes: 80 * 1024,
    },
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

/** Reads any number of keys (KV's getMany takes at most 10 per call), in order. */
export async function getMany<T>(
  store: Store,
  keys: readonly Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<T>[]> {
  const parts: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += 10) {
    parts.push(store.kv.getMany<T[]>(keys.slice(i, i + 10)));
  }
  return (await Promise.all(parts)).flat();
}

/** What one item adds to an atomic commit. */
export interface CommitCost {
  mutations: number;
  checks: number;
  /** Keys and values of the mutations. */
  bytes: number;
  /** Keys of the mutations and checks. */
  keyBytes: number;
}

/**
 * Splits items into runs that each fit one atomic commit under `limits`
 * (an item too big alone still gets a run of its own). `cost(item, i, run)`
 * may depend on what the run holds already, e.g. a counter key shared by
 * several items.
 */
export function chunkForCommit<T>(
  items: readonly T[],
  limits: KvLimits,
  cost: (item: T, run: readonly T[]) => CommitCost,
): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let sum = { mutations: 0, checks: 0, bytes: 0, keyBytes: 0 };
  for (const item of items) {
    let c = cost(item, run);
    const fits = sum.mutations + c.mutations <= limits.maxMutations &&
      sum.checks + c.checks <= limits.maxChecks &&
      sum.bytes + c.bytes <= limits.maxBytes && sum.keyBytes + c.keyBytes <= limits.maxKeyBytes;
    if (!fits && run.length > 0) {
      runs.push(run);
      run = [];
      sum = { mutations: 0, checks: 0, bytes: 0, keyBytes: 0 };
      c = cost(item, run);
    }
    run.push(item);
    sum = {
      mutations: sum.mutations + c.mutations,
      checks: sum.checks + c.checks,
      bytes: sum.bytes + c.bytes,
      keyBytes: sum.keyBytes + c.keyBytes,
    };
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** An upper bound of a KV key's encoded size. */
export function keySize(key: Deno.KvKey): number {
  let n = 0;
  for (const part of key) {
    n += typeof part === "string"
      ? utf8Length(part) + 2
      : part instanceof Uint8Array
      ? part.length + 2
      : 10;
  }
  return n;
}
