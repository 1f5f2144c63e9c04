/**
 * Opening Deno KV once, and committing atomics with the retry that local
 * SQLite needs when a second process holds the write lock.
 */
import { utf8Length } from "../lib/bytes.ts";
import { StorageFullError, UnavailableError } from "../lib/errors.ts";
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
  /**
   * Set when a commit fails for lack of space; cleared only by the health
   * probe's commit-sized write (a small commit that succeeds meanwhile says
   * little about room for the next message).
   */
  writes: { full: boolean };
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
    writes: { full: false },
    limits: {
      maxChecks: remote ? 10 : 100,
      maxMutations: 1000,
      maxBytes: 800 * 1024,
      maxKeyBytes: 80 * 1024,
    },
  };
}

const isLocked = (e: unknown) => e instanceof Error && /database is locked|busy/i.test(e.message);

// SQLite's messages for a store that failed (as opposed to a commit we built wrong, which
// KV refuses with a limit's name: those stay errors of ours).
const FULL = /database or disk is full|no space left/i;
const FAILED =
  /disk I\/O error|unable to open database|database disk image is malformed|readonly database|read-only file system|database is (locked|busy)|error sending request|connection (refused|reset|closed)/i;

/**
 * The domain error for an error a KV call threw, when it is the store's
 * failure: StorageFullError for a full disk, UnavailableError for a lock held
 * too long or an I/O or connection failure (with the original as `cause`).
 * Anything else is returned as it is.
 */
export function asStorageError(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof StorageFullError || e instanceof UnavailableError) {
    return e;
  }
  if (FULL.test(e.message)) {
    return new StorageFullError("The store is full: the write was not committed", { cause: e });
  }
  if (FAILED.test(e.message)) {
    return new UnavailableError(`The store failed: ${e.message}`, {
      cause: e,
      retryAfterSeconds: 1,
    });
  }
  return e;
}

/**
 * Builds and commits an atomic operation, retrying (with a fresh build) while
 * another process holds the SQLite write lock. Returns KV's commit result;
 * a failure of the store itself is thrown as a domain error (asStorageError).
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
        const err = asStorageError(e);
        if (err instanceof StorageFullError) store.writes.full = true;
        throw err;
      }
      await new Promise((r) => setTimeout(r, Math.min(200, 2 ** attempt) + Math.random() * 5));
    }
  }
}

/** What the store can do right now: "full" = reads work, writes fail for lack of space. */
export type KvHealth = "ok" | "full" | "error";

/** Where the health probe writes (the store's own keys; no repository uses them). */
const PROBE_PREFIX: Deno.KvKey = ["sys", "probe"];

/**
 * Probes the store with a read and a write. The write is small, unless a
 * commit failed for lack of space: then it is as large as a commit may be
 * (and deleted again), and its success clears the full state.
 */
export async function probeStore(store: Store): Promise<{ kv: KvHealth; detail?: string }> {
  try {
    await store.kv.get(PROBE_PREFIX);
    const chunks = store.writes.full
      ? Math.floor(store.limits.maxBytes / (MAX_VALUE_BYTES + 64))
      : 1;
    const value = new Uint8Array(store.writes.full ? MAX_VALUE_BYTES : 8);
    const keys = Array.from({ length: chunks }, (_, i): Deno.KvKey => [...PROBE_PREFIX, i]);
    await commit(store, "probe", (op) => keys.forEach((k) => op.set(k, value)));
    if (chunks > 1) {
      await commit(store, "probe", (op) => keys.slice(1).forEach((k) => op.delete(k)));
    }
    return { kv: "ok" };
  } catch (e) {
    const err = asStorageError(e);
    return {
      kv: err instanceof StorageFullError ? "full" : "error",
      detail: err instanceof Error ? err.message : String(err),
    };
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

/**
 * What operations add to one atomic commit, counted as KV counts them
 * (deno's ext/kv op_kv_atomic_write): every check's and every mutation's key
 * toward `bytes`, and a set's or sum's key and value once more; only set and
 * sum keys toward `keyBytes`.
 */
export interface CommitCost {
  mutations: number;
  checks: number;
  /** KV's "total mutation size". */
  bytes: number;
  /** KV's "total key size". */
  keyBytes: number;
}

/** The cost of nothing, to add costs onto. */
export const NO_COST: CommitCost = { mutations: 0, checks: 0, bytes: 0, keyBytes: 0 };

/** The sum of costs. */
export function addCosts(...costs: CommitCost[]): CommitCost {
  const out = { ...NO_COST };
  for (const c of costs) {
    out.mutations += c.mutations;
    out.checks += c.checks;
    out.bytes += c.bytes;
    out.keyBytes += c.keyBytes;
  }
  return out;
}

/** A `check` of this key. */
export function checkCost(key: Deno.KvKey): CommitCost {
  return { mutations: 0, checks: 1, bytes: keySize(key), keyBytes: 0 };
}

/** A `set` of a Uint8Array value of this size (KV stores it as is). */
export function setCost(key: Deno.KvKey, valueBytes: number): CommitCost {
  const k = keySize(key);
  return { mutations: 1, checks: 0, bytes: 2 * k + valueBytes, keyBytes: k };
}

/** A `sum` onto a Deno.KvU64 (an 8-byte value). */
export function sumCost(key: Deno.KvKey): CommitCost {
  return setCost(key, 8);
}

/** A `delete` of this key. */
export function deleteCost(key: Deno.KvKey): CommitCost {
  return { mutations: 1, checks: 0, bytes: keySize(key), keyBytes: 0 };
}

/** Whether a commit of this cost is within the limits. */
export function fits(c: CommitCost, limits: KvLimits): boolean {
  return c.mutations <= limits.maxMutations && c.checks <= limits.maxChecks &&
    c.bytes <= limits.maxBytes && c.keyBytes <= limits.maxKeyBytes;
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
  let sum = NO_COST;
  for (const item of items) {
    let c = cost(item, run);
    if (!fits(addCosts(sum, c), limits) && run.length > 0) {
      runs.push(run);
      run = [];
      sum = NO_COST;
      c = cost(item, run);
    }
    run.push(item);
    sum = addCosts(sum, c);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * A KV key's encoded size, exactly as KV encodes it (denokv's tuple codec):
 * strings and bytes take a tag, their bytes with each 0x00 escaped as two,
 * and a terminator; a bigint takes a tag and its magnitude's bytes (a length
 * byte more past 8); a number 9 bytes; a boolean 1.
 */
export function keySize(key: Deno.KvKey): number {
  let n = 0;
  for (const part of key) {
    if (typeof part === "string") n += 2 + utf8Length(part) + countNul(part);
    else if (part instanceof Uint8Array) n += 2 + part.length + countZero(part);
    else if (typeof part === "bigint") n += bigintSize(part);
    else if (typeof part === "number") n += 9;
    else n += 1;
  }
  return n;
}

function countNul(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\0"); i !== -1; i = s.indexOf("\0", i + 1)) n++;
  return n;
}

function countZero(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) n++;
  return n;
}

function bigintSize(v: bigint): number {
  let m = v < 0n ? -v : v;
  let bytes = 0;
  for (; m > 0n; m >>= 8n) bytes++;
  return bytes <= 8 ? 1 + bytes : 2 + bytes;
}
