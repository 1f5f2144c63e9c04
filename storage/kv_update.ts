/**
 * Read-modify-write over Deno KV: read keys, compute their next values, and
 * commit them with a check on every versionstamp read, retrying with jittered
 * backoff when another writer got there first. For "highest sequence wins"
 * records, per-peer sync state, reference counts.
 *
 * This file owns no keys: callers pass their own (their repository's table
 * says what they hold).
 *
 * Values are whatever KV takes. A Uint8Array is stored as is and counted
 * exactly against the commit limits (storage/kv.ts); a Deno.KvU64 counts as
 * 8 bytes; any other value is V8-serialized by KV, whose size we cannot see,
 * so only its key is counted and KV itself refuses it if it is too large.
 *
 * Giving up: after `maxAttempts` conflicting commits update throws BusyError,
 * not ConflictError. The request is sound and would succeed a moment later;
 * only the contention is too high right now ("busy, retry later", 503).
 * ConflictError says the request itself clashes with what is stored (a lower
 * sequence), which the update function throws when it decides so.
 */
import { backoffDelay, type BackoffOptions } from "../lib/backoff.ts";
import { BusyError, TooLargeError } from "../lib/errors.ts";
import {
  addCosts,
  checkCost,
  commit,
  type CommitCost,
  deleteCost,
  fits,
  getMany,
  MAX_VALUE_BYTES,
  NO_COST,
  setCost,
  type Store,
  sumCost,
} from "./kv.ts";

/** Returned by an update function to write nothing (the read values stand). */
export const SKIP: unique symbol = Symbol("SKIP");
/** An element of updateMany's result that leaves its key as it is (it is still checked). */
export const KEEP: unique symbol = Symbol("KEEP");

type MaybePromise<T> = T | Promise<T>;

/** Extra mutations a caller adds to an update's commit (an index entry, a counter). */
export interface Mutations {
  /** Also require that `key` still has this versionstamp (null: absent). */
  check(key: Deno.KvKey, versionstamp: string | null): Mutations;
  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): Mutations;
  delete(key: Deno.KvKey): Mutations;
  /** Adds to a Deno.KvU64 (wrapping at 2^64), as KV's own `sum`. */
  sum(key: Deno.KvKey, n: bigint): Mutations;
}

/** Options shared by update and updateMany. */
export interface RetryOptions {
  /** Label of the commits in the KV metrics; default "update". */
  name?: string;
  /** Commits tried before giving up with BusyError; default 16. */
  maxAttempts?: number;
  /** Delay between attempts (full jitter); default 4 ms doubling up to 250 ms. */
  backoff?: BackoffOptions;
  /** `expireIn` (ms) for every value written (KV deletes lazily: check expiry where it matters). */
  expireIn?: number;
}

/** Options of update. */
export interface UpdateOptions<T> extends RetryOptions {
  /** Adds mutations to the commit that writes `next` (called once per attempt). */
  mutate?: (m: Mutations, next: T | undefined, current: Deno.KvEntryMaybe<T>) => void;
}

/** What update left in the key. */
export interface Updated<T> {
  /** The value now stored: the one written, or the one read when nothing was written. */
  value: T | undefined;
  /** Its versionstamp (null when the key is absent). */
  versionstamp: string | null;
  /** False when the function returned SKIP. */
  written: boolean;
}

/** Current values of a tuple of keys (undefined: absent). */
export type Values<T extends readonly unknown[]> = { -readonly [K in keyof T]: T[K] | undefined };
/** The entries read for a tuple of keys. */
export type Entries<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: Deno.KvEntryMaybe<T[K]>;
};
/** Next values of a tuple of keys: a value, undefined to delete, or KEEP. */
export type NextValues<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: T[K] | undefined | typeof KEEP;
};

/** Options of updateMany. */
export interface UpdateManyOptions<T extends readonly unknown[]> extends RetryOptions {
  /** Adds mutations to the commit that writes `next` (called once per attempt). */
  mutate?: (m: Mutations, next: Values<T>, current: Entries<T>) => void;
}

/** What updateMany left in the keys. */
export interface UpdatedMany<T extends readonly unknown[]> {
  values: Values<T>;
  versionstamps: (string | null)[];
  written: boolean;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 4, maxMs: 250 };

/**
 * Reads `key`, computes its next value with `fn`, and commits it only if the
 * key has not changed since the read; on a conflict, reads and computes again.
 * `fn` returns the value to write, undefined to delete the key, or SKIP to
 * write nothing; it may be called several times, so it should only compute
 * (it may throw, e.g. ConflictError, which ends the update with nothing written).
 *
 * Throws BusyError after `maxAttempts` conflicts, TooLargeError for a
 * Uint8Array over MAX_VALUE_BYTES, RangeError for a commit over the store's
 * limits, and the store's own errors (see commit in storage/kv.ts).
 *
 * @example
 * ```ts
 * // Highest sequence wins (an IPNS record):
 * const r = await update<Uint8Array>(store, ["ipns", name], (cur) =>
 *   cur && sequenceOf(cur) >= sequenceOf(record) ? SKIP : record);
 * if (!r.written) throw new ConflictError(`Sequence ${sequenceOf(record)} is not the highest`);
 * ```
 */
export async function update<T>(
  store: Store,
  key: Deno.KvKey,
  fn: (current: T | undefined, entry: Deno.KvEntryMaybe<T>) => MaybePromise<
    T | undefined | typeof SKIP
  >,
  opts: UpdateOptions<T> = {},
): Promise<Updated<T>> {
  const { mutate, ...rest } = opts;
  const r = await updateMany<[T]>(store, [key], async ([value], [entry]) => {
    const next = await fn(value, entry);
    return next === SKIP ? SKIP : [next];
  }, { ...rest, mutate: mutate && ((m, [next], [entry]) => mutate(m, next, entry)) });
  return { value: r.values[0], versionstamp: r.versionstamps[0], written: r.written };
}

/**
 * Read-modify-write of several keys in one atomic commit (a record, its index
 * entry and a counter): reads them all, lets `fn` return the next value of
 * each (undefined deletes, KEEP leaves it), and commits with a check on every
 * key read, retrying as update does. At most the store's `maxChecks` keys
 * (10 on a remote KV), each key once.
 *
 * @example
 * ```ts
 * // Move one unit from a to b; the sum of both never changes.
 * await updateMany<[number, number]>(store, [["acct", "a"], ["acct", "b"]], ([a = 0, b = 0]) =>
 *   a > 0 ? [a - 1, b + 1] : SKIP);
 * ```
 */
export async function updateMany<T extends readonly unknown[]>(
  store: Store,
  keys: { readonly [K in keyof T]: Deno.KvKey },
  fn: (current: Values<T>, entries: Entries<T>) => MaybePromise<NextValues<T> | typeof SKIP>,
  opts: UpdateManyOptions<T> = {},
): Promise<UpdatedMany<T>> {
  const list = keys as readonly Deno.KvKey[];
  assertDistinct(list);
  const maxAttempts = opts.maxAttempts ?? 16;
  for (let attempt = 0;; attempt++) {
    const entries = await getMany<unknown>(store, list);
    const current = entries.map((e) => e.versionstamp === null ? undefined : e.value);
    const next = await fn(current as Values<T>, entries as Entries<T>);
    if (next === SKIP) {
      return {
        values: current as Values<T>,
        versionstamps: entries.map((e) => e.versionstamp),
        written: false,
      };
    }
    if (next.length !== list.length) {
      throw new TypeError(`Update returned ${next.length} values for ${list.length} keys`);
    }
    const plan = new Plan();
    const values = list.map((key, i) => {
      plan.check(key, entries[i].versionstamp);
      const v = next[i];
      if (v === KEEP) return current[i];
      if (v === undefined) plan.delete(key);
      else plan.set(key, v, opts.expireIn === undefined ? undefined : { expireIn: opts.expireIn });
      return v;
    });
    opts.mutate?.(plan, values as Values<T>, entries as Entries<T>);
    plan.assertFits(store);
    const res = await commit(store, opts.name ?? "update", (op) => plan.applyTo(op));
    if (res.ok) {
      return {
        values: values as Values<T>,
        versionstamps: list.map((_, i) =>
          next[i] === KEEP
            ? entries[i].versionstamp
            : next[i] === undefined
            ? null
            : res.versionstamp
        ),
        written: true,
      };
    }
    if (attempt + 1 >= maxAttempts) {
      throw new BusyError(
        `Update of ${
          list.map(formatKey).join(", ")
        } gave up after ${maxAttempts} conflicting commits`,
      );
    }
    await delay(backoffDelay(attempt, opts.backoff ?? DEFAULT_BACKOFF));
  }
}

type Step =
  | { kind: "check"; key: Deno.KvKey; versionstamp: string | null }
  | { kind: "set"; key: Deno.KvKey; value: unknown; options?: { expireIn?: number } }
  | { kind: "delete"; key: Deno.KvKey }
  | { kind: "sum"; key: Deno.KvKey; n: bigint };

/**
 * The mutations of one attempt, kept as a list so that commit() can rebuild
 * the atomic when it retries a locked database, and costed as they come.
 */
class Plan implements Mutations {
  readonly steps: Step[] = [];
  cost: CommitCost = NO_COST;

  check(key: Deno.KvKey, versionstamp: string | null): this {
    this.cost = addCosts(this.cost, checkCost(key));
    this.steps.push({ kind: "check", key, versionstamp });
    return this;
  }

  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): this {
    let bytes = 0;
    if (value instanceof Uint8Array) {
      if (value.length > MAX_VALUE_BYTES) {
        throw new TooLargeError(`The value of ${formatKey(key)}`, value.length, MAX_VALUE_BYTES);
      }
      bytes = value.length;
    } else if (value instanceof Deno.KvU64) {
      bytes = 8;
    }
    this.cost = addCosts(this.cost, setCost(key, bytes));
    this.steps.push({ kind: "set", key, value, options });
    return this;
  }

  delete(key: Deno.KvKey): this {
    this.cost = addCosts(this.cost, deleteCost(key));
    this.steps.push({ kind: "delete", key });
    return this;
  }

  sum(key: Deno.KvKey, n: bigint): this {
    this.cost = addCosts(this.cost, sumCost(key));
    this.steps.push({ kind: "sum", key, n });
    return this;
  }

  /** A commit over the limits is a caller's mistake (too many keys or extras), not bad input. */
  assertFits(store: Store): void {
    if (fits(this.cost, store.limits)) return;
    const c = this.cost;
    const l = store.limits;
    throw new RangeError(
      `Update commit is over the store's limits: ${c.checks} checks (max ${l.maxChecks}), ` +
        `${c.mutations} mutations (max ${l.maxMutations}), ${c.bytes} bytes (max ${l.maxBytes}), ` +
        `${c.keyBytes} key bytes (max ${l.maxKeyBytes})`,
    );
  }

  applyTo(op: Deno.AtomicOperation): void {
    for (const s of this.steps) {
      if (s.kind === "check") op.check({ key: s.key, versionstamp: s.versionstamp });
      else if (s.kind === "set") op.set(s.key, s.value, s.options);
      else if (s.kind === "delete") op.delete(s.key);
      else op.sum(s.key, s.n);
    }
  }
}

function assertDistinct(keys: readonly Deno.KvKey[]): void {
  const seen = new Set<string>();
  for (const k of keys) {
    const text = formatKey(k);
    if (seen.has(text)) throw new TypeError(`Key ${text} is given more than once`);
    seen.add(text);
  }
}

/** A key as text for messages: `["ipns",0x01ff,5n]`. */
export function formatKey(key: Deno.KvKey): string {
  const parts = key.map((p) =>
    typeof p === "string"
      ? JSON.stringify(p)
      : p instanceof Uint8Array
      ? `0x${p.toHex()}`
      : typeof p === "bigint"
      ? `${p}n`
      : String(p)
  );
  return `[${parts.join(",")}]`;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
