/**
 * A named lease over KV, so that a background job runs in one process (or
 * Deploy isolate) at a time and is taken over when its holder dies. Key:
 *
 * | key             | value                                                        |
 * | --------------- | ------------------------------------------------------------ |
 * | ["lease",name]  | JSON (UTF-8 bytes) {holder, expiresAt, ttlMs, fence}         |
 *
 * `holder` is the holder's id (null once released), `expiresAt` the holder's
 * wall-clock ms when it lapses, `ttlMs` the holder's TTL, and `fence` a
 * number that grows with each new holder (a fencing token: kept across
 * releases, so it never repeats). There is no `expireIn`: KV would delete by
 * its own clock, and the record must outlive its holder to keep `fence`.
 *
 * Only reads and checked commits: no watch or queues, which work neither
 * across processes nor on a remote KV.
 *
 * When a lease is free to take, and clock skew: a contender takes the lease
 * when it is released, or when its holder wrote nothing for a TTL, which it
 * knows in one of two ways:
 * - it has watched the same versionstamp for `ttlMs` on its own monotonic
 *   clock. Skew plays no part (only the clocks' rates, which agree closely);
 * - the record's `expiresAt` is more than `clockSkewMs` behind its wall
 *   clock, for a lease that lapsed before this process first looked.
 *   ASSUMPTION: the wall clocks of processes sharing a KV differ by less than
 *   `clockSkewMs` (default 1 s; NTP keeps hosts within milliseconds, one host
 *   or Deploy's isolates share one time). A contender whose clock is ahead by
 *   more may take over from a live holder, which then loses its next renewal
 *   and stops its job: the two overlap for at most one renewal period.
 * A holder counts its own tenure from *before* each renewal is sent, by its
 * monotonic clock (validUntil), so it always believes itself the holder for
 * less time than any contender waits.
 */
import type { Store } from "./kv.ts";
import { SKIP, update } from "./kv_update.ts";

/** A lease's stored state. */
export interface LeaseRecord {
  /** The holder's id, or null once released. */
  holder: string | null;
  /** The holder's wall-clock time (ms since the epoch) when it lapses. */
  expiresAt: number;
  ttlMs: number;
  /** Grows with each new holder, never repeats. */
  fence: number;
}

/** Options of a Lease. */
export interface LeaseOptions {
  /** How long the lease lasts without a renewal. */
  ttlMs: number;
  /** This holder's id, unique among all processes; default a random UUID. */
  holder?: string;
  /** How far apart wall clocks may be (see the file's comment); default 1000 ms. */
  clockSkewMs?: number;
  /** Wall clock in ms; for tests of clock skew. */
  now?: () => number;
}

const leaseKey = (name: string): Deno.KvKey => ["lease", name];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One holder's handle on the lease `name`. acquire() takes or extends it,
 * renew() extends it only if still held, release() frees it for another.
 * A holder stops its work as soon as renew() returns false or throws, or
 * `validUntil` passes; services/exclusive_job.ts does all of that.
 *
 * @example
 * ```ts
 * const lease = new Lease(store, "waku-retention", { ttlMs: 15_000 });
 * if (await lease.acquire()) {
 *   await work(); // renew() every ttlMs / 3 meanwhile; stop if it fails
 *   await lease.release();
 * }
 * ```
 */
export class Lease {
  readonly holder: string;
  readonly ttlMs: number;
  readonly #clockSkewMs: number;
  readonly #now: () => number;
  /** performance.now() before which this holder surely holds the lease; 0 = not held. */
  #validUntil = 0;
  #fence?: number;
  /** A versionstamp of another holder's record and when (monotonic) it was first seen. */
  #seen?: { versionstamp: string; at: number };

  constructor(
    private readonly store: Store,
    readonly name: string,
    opts: LeaseOptions,
  ) {
    if (!(opts.ttlMs > 0)) throw new RangeError(`Lease TTL must be positive, got "${opts.ttlMs}"`);
    this.ttlMs = opts.ttlMs;
    this.holder = opts.holder ?? crypto.randomUUID();
    this.#clockSkewMs = opts.clockSkewMs ?? 1000;
    this.#now = opts.now ?? Date.now;
  }

  /** Monotonic time (performance.now()) until which this holder holds the lease; 0 if not held. */
  get validUntil(): number {
    return this.#validUntil;
  }

  /** Whether this holder holds the lease now, by its own clock. */
  get held(): boolean {
    return this.#validUntil > performance.now();
  }

  /** The fencing token of this holder's tenure, while it has one. */
  get fence(): number | undefined {
    return this.#fence;
  }

  /**
   * Takes the lease if it is free (absent, released, or lapsed), or extends
   * it if this holder has it. Returns whether this holder now holds it.
   */
  async acquire(): Promise<boolean> {
    const started = performance.now();
    const r = await this.#update((cur, versionstamp) => {
      if (cur && cur.holder === this.holder && cur.fence === this.#fence) return this.#next(cur);
      if (cur && cur.holder !== null && !this.#lapsed(cur, versionstamp!)) return SKIP;
      return this.#next({ fence: (cur?.fence ?? 0) + 1 });
    });
    return this.#settle(r, started);
  }

  /** Extends the lease if this holder still has it; false when it was lost. */
  async renew(): Promise<boolean> {
    if (this.#fence === undefined) return false;
    const started = performance.now();
    const r = await this.#update((cur) =>
      cur?.holder === this.holder && cur.fence === this.#fence ? this.#next(cur) : SKIP
    );
    return this.#settle(r, started);
  }

  /** Frees the lease for others at once; false if this holder no longer had it. */
  async release(): Promise<boolean> {
    const fence = this.#fence;
    this.#validUntil = 0;
    this.#fence = undefined;
    if (fence === undefined) return false;
    const r = await this.#update((cur) =>
      cur?.holder === this.holder && cur.fence === fence
        ? { holder: null, expiresAt: 0, ttlMs: cur.ttlMs, fence }
        : SKIP
    );
    return r.written;
  }

  #next(cur: { fence: number }): LeaseRecord {
    return {
      holder: this.holder,
      expiresAt: this.#now() + this.ttlMs,
      ttlMs: this.ttlMs,
      fence: cur.fence,
    };
  }

  /** Whether another holder's record shows no renewal for its TTL. */
  #lapsed(cur: LeaseRecord, versionstamp: string): boolean {
    if (this.#now() > cur.expiresAt + this.#clockSkewMs) return true;
    // Taken after the read returned, so never earlier than the holder's write.
    const now = performance.now();
    if (this.#seen?.versionstamp !== versionstamp) this.#seen = { versionstamp, at: now };
    return now - this.#seen.at >= cur.ttlMs;
  }

  #settle(r: { value?: Uint8Array; written: boolean }, started: number): boolean {
    const rec = r.value && decodeLease(this.name, r.value);
    if (r.written && rec?.holder === this.holder) {
      this.#fence = rec.fence;
      this.#validUntil = started + this.ttlMs;
      this.#seen = undefined;
      return true;
    }
    this.#validUntil = 0;
    this.#fence = undefined;
    return false;
  }

  #update(
    fn: (cur: LeaseRecord | undefined, versionstamp: string | null) => LeaseRecord | typeof SKIP,
  ) {
    return update<Uint8Array>(this.store, leaseKey(this.name), (value, entry) => {
      const next = fn(value && decodeLease(this.name, value), entry.versionstamp);
      return next === SKIP ? SKIP : encoder.encode(JSON.stringify(next));
    }, { name: "lease" });
  }
}

/**
 * The stored state of lease `name`, or undefined if it was never taken.
 *
 * @example
 * ```ts
 * const rec = await readLease(store, "waku-retention");
 * console.log(rec?.holder ?? "free");
 * ```
 */
export async function readLease(store: Store, name: string): Promise<LeaseRecord | undefined> {
  const entry = await store.kv.get<Uint8Array>(leaseKey(name));
  return entry.value ? decodeLease(name, entry.value) : undefined;
}

function decodeLease(name: string, bytes: Uint8Array): LeaseRecord {
  let rec: Partial<LeaseRecord> | undefined;
  try {
    rec = JSON.parse(decoder.decode(bytes));
  } catch { /* reported below */ }
  if (
    !rec || (rec.holder !== null && typeof rec.holder !== "string") ||
    typeof rec.expiresAt !== "number" || typeof rec.ttlMs !== "number" ||
    typeof rec.fence !== "number"
  ) {
    throw new SyntaxError(`Lease "${name}" holds an unreadable record`);
  }
  return rec as LeaseRecord;
}
