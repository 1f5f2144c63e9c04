/**
 * The live feed: a short, commit-ordered log of opaque records (live events)
 * in KV, so that every process on the same KV can read what any of them
 * appended. services/kv_notifier.ts tails it.
 *
 * | key                 | value                                                    |
 * | ------------------- | -------------------------------------------------------- |
 * | ["live","head"]     | Deno.KvU64: the last sequence number appended (0 = none)  |
 * | ["live","e",seq]    | entry (below): records, or a reference to a blob of them |
 * | ["live","b",id,i]   | chunk i of a blob (blobs.ts) of one record too big inline |
 *
 * Order. Deno KV's versionstamped keys would give commit order for free, but
 * JS cannot write them in Deno 2.9: `AtomicOperation.mutate` accepts only
 * set, delete, sum, min and max (`{type: "setSuffixVersionstampedKey"}`
 * throws "Invalid mutation type"), and the op that takes that mutation is not
 * reachable from user code. So an append reads the head, writes entries
 * head+1… and the new head in one commit that checks the head is unchanged,
 * retrying on a conflict. Entry n+1 therefore commits after entry n: key
 * order is commit order, and sequence numbers have no holes, so a reader
 * that finds a hole knows those entries were trimmed before it read them.
 *
 * The head is one key every append checks, so appenders anywhere take turns
 * on it; that is why the feed has its own commits rather than riding in the
 * data commits (which would then conflict across processes on every write).
 *
 * Large records. A record too big for one value (a store entry of a message
 * near the 150 KiB limit is ~200 KB of JSON) goes to a blob under a random
 * id, chunked by blobs.ts: its chunks ride in the entry's commit when they
 * take at most half of one, else they are written first in commits of their
 * own, so an entry never refers to missing chunks. Chunks left by an append
 * that then failed expire with the TTL.
 *
 * Entry value (raw bytes, not V8-serialized, so its size is exact):
 * kind (1 byte: 1 = records inline, 2 = blob), origin length (1 byte), origin
 * (UTF-8), then for kind 1 the records as [u32 BE length, UTF-8 bytes]…, and
 * for kind 2 the blob id (16 bytes) and size (u32 BE); the blob holds one
 * record in the kind-1 layout. The origin lets a reader skip its own
 * entries without decoding (or fetching) their records.
 *
 * Bounds. Every entry and chunk is written with `expireIn: ttlMs`, which KV
 * applies lazily (a sweep, not at read time), so appenders also trim: when
 * an append crosses a multiple of `trimEvery`, `trimDue` says so and the
 * caller runs trim(), which deletes all but the newest `keepEntries`. The
 * head never expires: were it gone, sequence numbers would restart below
 * what readers have seen.
 */
import { concat } from "../lib/bytes.ts";
import { blobCost, blobKeys, blobSets, readBlob } from "./blobs.ts";
import {
  addCosts,
  checkCost,
  chunkForCommit,
  commit,
  type CommitCost,
  deleteCost,
  MAX_VALUE_BYTES,
  NO_COST,
  setCost,
  type Store,
} from "./kv.ts";

/** Tuning of the feed; the defaults suit a local KV file. */
export interface LiveFeedOptions {
  /** Lifetime of entries and chunks, the backstop when nobody appends to trim (ms). */
  ttlMs?: number;
  /** Entries trim() keeps. A reader further behind loses the oldest of what it has not read. */
  keepEntries?: number;
  /** An append that crosses a multiple of this sequence number says trim is due. */
  trimEvery?: number;
}

/** One entry as a reader gets it, in sequence order. */
export interface FeedEntry {
  seq: bigint;
  origin: string;
  records: string[];
}

/** What read() found after a position. */
export interface FeedRead {
  /** Entries of other origins than `skipOrigin`, in order. */
  entries: FeedEntry[];
  /** The position to read after next time (the last entry seen, skipped ones included). */
  last: bigint;
  /** Entries that were trimmed before this reader got to them. */
  missed: number;
  /** Whether the read stopped at its limit (more may be there already). */
  more: boolean;
}

/** What an append did. */
export interface AppendResult {
  /** The sequence number of the last entry written. */
  head: bigint;
  /** Whether this append crossed a trim boundary: the caller should run trim(). */
  trimDue: boolean;
}

const HEAD: Deno.KvKey = ["live", "head"];
const ENTRIES: Deno.KvKey = ["live", "e"];
const entryKey = (seq: bigint): Deno.KvKey => [...ENTRIES, seq];
const blobPrefix = (id: Uint8Array): Deno.KvKey => ["live", "b", id];

const INLINE = 1;
const BLOB = 2;
const ID_BYTES = 16;
/** A sequence number as large as any will be: the costs assume its key size. */
const SEQ_BOUND = (1n << 63n) - 1n;
const MAX_APPEND_ATTEMPTS = 200;
const TRIM_BATCH = 256;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An entry ready to commit: its value, and the blob it refers to, if any. */
interface Packed {
  value: Uint8Array;
  blob?: { prefix: Deno.KvKey; bytes: Uint8Array; inline: boolean };
  cost: CommitCost;
}

/**
 * The live feed over one KV store.
 *
 * @example
 * ```ts
 * const feed = new LiveFeed(store);
 * let last = await feed.head();
 * await feed.append("proc-a", ['{"n":1}']);
 * const got = await feed.read(last, 64, "proc-b"); // got.entries[0].records: ['{"n":1}']
 * last = got.last;
 * ```
 */
export class LiveFeed {
  readonly #ttlMs: number;
  readonly #keep: bigint;
  readonly #trimEvery: bigint;

  constructor(readonly store: Store, opts: LiveFeedOptions = {}) {
    this.#ttlMs = opts.ttlMs ?? 60_000;
    this.#keep = BigInt(opts.keepEntries ?? 1024);
    this.#trimEvery = BigInt(opts.trimEvery ?? 128);
    if (this.#keep < 1n || this.#trimEvery < 1n) {
      throw new RangeError("keepEntries and trimEvery must be at least 1");
    }
  }

  /** The last sequence number appended; a reader that starts here sees only what follows. */
  async head(): Promise<bigint> {
    return (await this.store.kv.get<Deno.KvU64>(HEAD)).value?.value ?? 0n;
  }

  /**
   * Appends records in order, packed into entries under the value limit and
   * in as few commits as the KV limits allow (records of one append may be
   * split across commits, between which other appenders' entries can land).
   * A record too big for one value goes to a blob, inside the commit when it
   * fits there, else written before it.
   */
  async append(origin: string, records: readonly string[]): Promise<AppendResult> {
    if (records.length === 0) return { head: await this.head(), trimDue: false };
    const originBytes = encoder.encode(origin);
    if (originBytes.length > 255) {
      throw new RangeError(`Origin "${origin.slice(0, 40)}…" is longer than 255 bytes`);
    }
    const packed = pack(originBytes, records, this.store.limits.maxBytes);
    for (const p of packed) {
      if (p.blob && !p.blob.inline) await this.#writeChunks(p.blob.prefix, p.blob.bytes);
    }
    const headCost = addCosts(checkCost(HEAD), setCost(HEAD, 8));
    const runs = chunkForCommit(
      packed,
      this.store.limits,
      (p, run) => addCosts(p.cost, run.length ? NO_COST : headCost),
    );
    let head = 0n;
    let trimDue = false;
    for (const run of runs) {
      const from = await this.#commitRun(run);
      head = from + BigInt(run.length) - 1n;
      if ((from - 1n) / this.#trimEvery !== head / this.#trimEvery) trimDue = true;
    }
    return { head, trimDue };
  }

  /** Commits entries at the next free sequence numbers; returns the first one. */
  async #commitRun(run: Packed[]): Promise<bigint> {
    const expireIn = this.#ttlMs;
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const at = await this.store.kv.get<Deno.KvU64>(HEAD);
      const first = (at.value?.value ?? 0n) + 1n;
      const res = await commit(this.store, "live", (op) => {
        op.check(at);
        run.forEach((p, i) => {
          op.set(entryKey(first + BigInt(i)), p.value, { expireIn });
          if (p.blob?.inline) {
            for (const [k, v] of blobSets(p.blob.prefix, p.blob.bytes)) op.set(k, v, { expireIn });
          }
        });
        op.set(HEAD, new Deno.KvU64(first + BigInt(run.length) - 1n));
      });
      if (res.ok) return first;
      // Another appender took these numbers; a little jitter keeps two from colliding in step.
      if (attempt >= 3) await new Promise((r) => setTimeout(r, Math.random() * 5));
    }
    throw new Error(`Live feed append kept conflicting (${MAX_APPEND_ATTEMPTS} attempts)`);
  }

  /** Writes a blob too big for the entry's commit, in commits of its own. */
  async #writeChunks(prefix: Deno.KvKey, bytes: Uint8Array): Promise<void> {
    const sets = blobSets(prefix, bytes);
    const runs = chunkForCommit(sets, this.store.limits, ([k, v]) => setCost(k, v.length));
    for (const run of runs) {
      await commit(this.store, "live", (op) => {
        for (const [k, v] of run) op.set(k, v, { expireIn: this.#ttlMs });
      });
    }
  }

  /**
   * Reads up to `limit` entries after `after`, leaving out (but stepping
   * over) those of `skipOrigin`, and counts entries trimmed before they were
   * read. An entry whose blob is gone counts as missed.
   */
  async read(after: bigint, limit: number, skipOrigin?: string): Promise<FeedRead> {
    const out: FeedRead = { entries: [], last: after, missed: 0, more: false };
    const skip = skipOrigin === undefined ? undefined : encoder.encode(skipOrigin);
    let n = 0;
    const iter = this.store.kv.list<Uint8Array>(
      { prefix: ENTRIES, start: entryKey(after + 1n) },
      { limit, batchSize: limit },
    );
    for await (const e of iter) {
      n++;
      const seq = e.key[2] as bigint;
      if (seq > out.last + 1n) out.missed += Number(seq - out.last - 1n);
      out.last = seq;
      if (skip && hasOrigin(e.value, skip)) continue;
      const entry = await this.#decode(seq, e.value);
      if (entry) out.entries.push(entry);
      else out.missed++;
    }
    out.more = n === limit;
    return out;
  }

  async #decode(seq: bigint, value: Uint8Array): Promise<FeedEntry | undefined> {
    const originEnd = 2 + value[1];
    const origin = decoder.decode(value.subarray(2, originEnd));
    if (value[0] === INLINE) return { seq, origin, records: unframe(value.subarray(originEnd)) };
    if (value[0] !== BLOB) throw new Error(`Live feed entry ${seq} has unknown kind ${value[0]}`);
    const id = value.subarray(originEnd, originEnd + ID_BYTES);
    const size = new DataView(value.buffer, value.byteOffset + originEnd + ID_BYTES, 4)
      .getUint32(0);
    const bytes = await readBlob(this.store, blobPrefix(id), size);
    return bytes && { seq, origin, records: unframe(bytes) };
  }

  /**
   * Deletes all but the newest `keepEntries` entries, with their blobs;
   * returns how many entries it deleted. Concurrent trims are harmless: a
   * delete of a deleted key does nothing.
   */
  async trim(): Promise<number> {
    const end = (await this.head()) - this.#keep + 1n;
    let deleted = 0;
    if (end <= 1n) return deleted;
    for (;;) {
      const keys: Deno.KvKey[] = [];
      let n = 0;
      // Bounded batches: entries may be up to 60 KiB each.
      const iter = this.store.kv.list<Uint8Array>(
        { prefix: ENTRIES, end: entryKey(end) },
        { limit: TRIM_BATCH, batchSize: 64 },
      );
      for await (const e of iter) {
        n++;
        keys.push(e.key);
        const ref = blobRef(e.value);
        if (ref) keys.push(...blobKeys(blobPrefix(ref.id), ref.size));
      }
      for (const run of chunkForCommit(keys, this.store.limits, deleteCost)) {
        await commit(this.store, "live", (op) => run.forEach((k) => op.delete(k)));
      }
      deleted += n;
      if (n < TRIM_BATCH) return deleted;
    }
  }
}

/** Packs records into entries: consecutive small ones share a value, a big one gets a blob. */
function pack(origin: Uint8Array, records: readonly string[], maxCommitBytes: number): Packed[] {
  const headerBytes = 2 + origin.length;
  const keyCost = (valueBytes: number) => setCost(entryKey(SEQ_BOUND), valueBytes);
  const out: Packed[] = [];
  let group: Uint8Array[] = [];
  let groupBytes = headerBytes;
  const flush = () => {
    if (!group.length) return;
    const value = entryValue(INLINE, origin, group);
    out.push({ value, cost: keyCost(value.length) });
    group = [];
    groupBytes = headerBytes;
  };
  for (const r of records) {
    const bytes = encoder.encode(r);
    const framed = 4 + bytes.length;
    if (headerBytes + framed > MAX_VALUE_BYTES) {
      flush();
      const id = crypto.getRandomValues(new Uint8Array(ID_BYTES));
      const body = frame([bytes]);
      const size = new Uint8Array(4);
      new DataView(size.buffer).setUint32(0, body.length);
      const value = entryValue(BLOB, origin, [id, size], false);
      const prefix = blobPrefix(id);
      const chunks = blobCost(prefix, body.length);
      // As waku_repo does: a blob goes into the entry's commit only if it leaves room for others.
      const inline = chunks.bytes <= maxCommitBytes / 2;
      const cost = addCosts(keyCost(value.length), inline ? chunks : NO_COST);
      out.push({ value, blob: { prefix, bytes: body, inline }, cost });
      continue;
    }
    if (groupBytes + framed > MAX_VALUE_BYTES) flush();
    group.push(bytes);
    groupBytes += framed;
  }
  flush();
  return out;
}

function entryValue(kind: number, origin: Uint8Array, parts: Uint8Array[], framed = true) {
  const body = framed ? frame(parts) : concat(parts);
  const out = new Uint8Array(2 + origin.length + body.length);
  out[0] = kind;
  out[1] = origin.length;
  out.set(origin, 2);
  out.set(body, 2 + origin.length);
  return out;
}

/** Records as [u32 BE length, bytes]…. */
function frame(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

function unframe(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let at = 0; at < bytes.length;) {
    const len = view.getUint32(at);
    out.push(decoder.decode(bytes.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return out;
}

function hasOrigin(value: Uint8Array, origin: Uint8Array): boolean {
  if (value[1] !== origin.length) return false;
  for (let i = 0; i < origin.length; i++) if (value[2 + i] !== origin[i]) return false;
  return true;
}

function blobRef(value: Uint8Array): { id: Uint8Array; size: number } | undefined {
  if (value[0] !== BLOB) return undefined;
  const at = 2 + value[1];
  const size = new DataView(value.buffer, value.byteOffset + at + ID_BYTES, 4).getUint32(0);
  return { id: value.subarray(at, at + ID_BYTES), size };
}
