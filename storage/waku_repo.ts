/**
 * The Waku store's repository: every message key layout lives here.
 *
 * | key                                  | value                                        |
 * | ------------------------------------ | -------------------------------------------- |
 * | ["waku","h",hash]                    | [timestamp, receivedTime] (lookups, dedup)   |
 * | ["waku","t",timestamp,hash]          | record (order of store v3: all messages)     |
 * | ["waku","tp",pubsubTopic,ts,hash]    | record (v3 by pubsub topic; retention)       |
 * | ["waku","tc",contentTopic,ts,hash]   | record (v3 by content topic)                 |
 * | ["waku","r",receivedTime,hash]       | record (order of store 2.0.0-beta2)          |
 * | ["waku","rc",contentTopic,recv,hash] | record (beta2 by content topic)              |
 * | ["waku","n",pubsubTopic]             | Deno.KvU64: messages stored on the topic     |
 * | ["waku","b",hash,i]                  | payload chunk i of a message too big inline  |
 *
 * Every index holds the whole record so that a page is one `list`. Times are
 * bigint nanoseconds, hashes 32 raw bytes, so KV's key order is the store's
 * order: (time, hash). All keys of a message are written in one atomic
 * commit, guarded by a check that its hash key is new (dedup).
 */
import { blobSets, deleteBlob, readBlob } from "./blobs.ts";
import { commit, MAX_VALUE_BYTES, type Store } from "./kv.ts";
import {
  type DecodedRecord,
  decodeRecord,
  encodeRecord,
  type StoredMessage,
} from "./waku_record.ts";
import { compareBytes } from "../lib/bytes.ts";

export type { StoredMessage } from "./waku_record.ts";

/** Which time a query orders by: the message's timestamp (v3) or our receive time (beta2). */
export type Order = "timestamp" | "received";

/** A position in an order: a message's time and hash. */
export interface Position {
  time: bigint;
  hash: Uint8Array;
}

/** One page request against an index. */
export interface IndexQuery {
  order: Order;
  /** Empty = every content topic. */
  contentTopics: string[];
  pubsubTopic?: string;
  /** Inclusive bounds on the order's time, in ns. */
  startTime?: bigint;
  endTime?: bigint;
  /** Exclusive: the page starts after (forward) or before (backward) this position. */
  cursor?: Position;
  forward: boolean;
  pageSize: number;
}

/** A page, oldest→newest. `next` is where the next page starts, if there may be one. */
export interface IndexPage {
  messages: StoredMessage[];
  next?: Position;
}

/** Where a stored message sits in both orders. */
export interface Located {
  timestamp: bigint;
  receivedTime: bigint;
}

/** Most index entries one page request reads before it returns what it has. */
export const MAX_SCAN = 5000;

const P = "waku";
const U64 = 1n << 64n;

interface Prepared {
  rec: StoredMessage;
  value: Uint8Array;
  /** Payload bytes kept in a chunked blob, when the record is too big inline. */
  blob?: Uint8Array;
  bytes: number;
}

function prepare(rec: StoredMessage): Prepared {
  let value = encodeRecord(rec);
  if (value.length <= MAX_VALUE_BYTES) return { rec, value, bytes: value.length * 5 + 400 };
  value = encodeRecord(rec, true);
  const blob = rec.message.payload;
  return { rec, value, blob, bytes: value.length * 5 + 400 + blob.length };
}

function indexKeys(rec: StoredMessage): Deno.KvKey[] {
  const { hash, pubsubTopic: ps, receivedTime: rt } = rec;
  const { timestamp: ts, contentTopic: ct } = rec.message;
  return [
    [P, "t", ts, hash],
    [P, "tp", ps, ts, hash],
    [P, "tc", ct, ts, hash],
    [P, "r", rt, hash],
    [P, "rc", ct, rt, hash],
  ];
}

const hashKey = (hash: Uint8Array): Deno.KvKey => [P, "h", hash];
const blobPrefix = (hash: Uint8Array): Deno.KvKey => [P, "b", hash];

/** Repository of Waku messages over one KV store. */
export class WakuRepo {
  constructor(readonly store: Store) {}

  /**
   * Stores messages; returns, per input, whether it was new. The same hash
   * twice (in the batch or already stored) is stored once. Commits are
   * chunked to the KV limits; each message's keys commit together.
   */
  async insert(recs: readonly StoredMessage[]): Promise<boolean[]> {
    const result = new Array<boolean>(recs.length).fill(false);
    const seen = new Map<string, number>();
    const todo: { i: number; p: Prepared }[] = [];
    for (let i = 0; i < recs.length; i++) {
      const id = recs[i].hash.toHex();
      if (seen.has(id)) continue;
      seen.set(id, i);
      todo.push({ i, p: prepare(recs[i]) });
    }
    const { maxChecks, maxMutations, maxBytes } = this.store.limits;
    let start = 0;
    while (start < todo.length) {
      // Take as many messages as fit one commit.
      let end = start, mutations = 0, bytes = 0;
      const topics = new Set<string>();
      while (end < todo.length && end - start < maxChecks) {
        const p = todo[end].p;
        const m = 6 + (p.blob ? Math.ceil(p.blob.length / MAX_VALUE_BYTES) : 0) +
          (topics.has(p.rec.pubsubTopic) ? 0 : 1);
        if (end > start && (mutations + m > maxMutations || bytes + p.bytes > maxBytes)) break;
        mutations += m;
        bytes += p.bytes;
        topics.add(p.rec.pubsubTopic);
        end++;
      }
      const chunk = todo.slice(start, end);
      const stored = await this.#commitNew(chunk.map((c) => c.p));
      chunk.forEach((c, k) => result[c.i] = stored[k]);
      start = end;
    }
    return result;
  }

  /** Commits a chunk; on a dedup conflict, drops the ones already stored and retries. */
  async #commitNew(chunk: Prepared[]): Promise<boolean[]> {
    const stored = chunk.map(() => true);
    let pending = chunk.map((p, k) => ({ p, k }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      for (const { p } of pending) {
        if (p.blob && p.bytes > this.store.limits.maxBytes / 2) {
          // Content-addressed by hash: rewriting an existing blob writes the same bytes.
          for (const [k, v] of blobSets(blobPrefix(p.rec.hash), p.blob)) {
            await commit(this.store, "waku", (op) => op.set(k, v));
          }
        }
      }
      const res = await commit(this.store, "waku", (op) => {
        const counts = new Map<string, bigint>();
        for (const { p } of pending) {
          const { rec, value } = p;
          op.check({ key: hashKey(rec.hash), versionstamp: null });
          op.set(hashKey(rec.hash), [rec.message.timestamp, rec.receivedTime]);
          for (const key of indexKeys(rec)) op.set(key, value);
          if (p.blob && p.bytes <= this.store.limits.maxBytes / 2) {
            for (const [k, v] of blobSets(blobPrefix(rec.hash), p.blob)) op.set(k, v);
          }
          counts.set(rec.pubsubTopic, (counts.get(rec.pubsubTopic) ?? 0n) + 1n);
        }
        for (const [topic, n] of counts) op.sum([P, "n", topic], n);
      });
      if (res.ok) break;
      if (attempt > 10) throw new Error("Waku insert kept conflicting");
      const found = await this.#getMany(pending.map(({ p }) => hashKey(p.rec.hash)));
      pending = pending.filter(({ k }, j) => {
        if (found[j].versionstamp === null) return true;
        stored[k] = false;
        return false;
      });
    }
    return stored;
  }

  async #getMany<T>(keys: Deno.KvKey[]): Promise<Deno.KvEntryMaybe<T>[]> {
    const parts: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      parts.push(this.store.kv.getMany<T[]>(keys.slice(i, i + 10)));
    }
    return (await Promise.all(parts)).flat();
  }

  /** Where a message sits, by its hash; undefined if it is not stored. */
  async locate(hash: Uint8Array): Promise<Located | undefined> {
    const e = await this.store.kv.get<[bigint, bigint]>(hashKey(hash));
    return e.value ? { timestamp: e.value[0], receivedTime: e.value[1] } : undefined;
  }

  /** The stored messages among these hashes, ordered by (timestamp, hash). */
  async getByHashes(hashes: readonly Uint8Array[]): Promise<StoredMessage[]> {
    const found = await this.#getMany<[bigint, bigint]>(hashes.map(hashKey));
    const keys: Deno.KvKey[] = [];
    found.forEach((e, i) => {
      if (e.value) keys.push([P, "t", e.value[0], hashes[i]]);
    });
    const recs = await this.#getMany<Uint8Array>(keys);
    const out: StoredMessage[] = [];
    for (const e of recs) if (e.value) out.push(await this.#complete(decodeRecord(e.value)));
    return out.sort((a, b) =>
      a.message.timestamp < b.message.timestamp
        ? -1
        : a.message.timestamp > b.message.timestamp
        ? 1
        : compareBytes(a.hash, b.hash)
    );
  }

  /** Messages stored on a pubsub topic, from its counter. */
  async count(pubsubTopic: string): Promise<number> {
    const e = await this.store.kv.get<Deno.KvU64>([P, "n", pubsubTopic]);
    return e.value ? Number(e.value.value) : 0;
  }

  /** Every pubsub topic with a counter, and its count. */
  async topics(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const e of this.store.kv.list<Deno.KvU64>({ prefix: [P, "n"] })) {
      out.set(e.key[2] as string, Number(e.value.value));
    }
    return out;
  }

  /**
   * Reads one page: merges the matching index ranges in (time, hash) order,
   * applies filters no index covers, and stops at pageSize or MAX_SCAN
   * entries read. Pages are always oldest→newest.
   */
  async page(q: IndexQuery): Promise<IndexPage> {
    const bases = this.#bases(q);
    const filter = q.contentTopics.length > 0 && q.pubsubTopic !== undefined
      ? (r: DecodedRecord) => r.pubsubTopic === q.pubsubTopic
      : undefined;
    const want = q.pageSize + 1;
    const streams = bases.map((base) => this.#scan(base, q, filter ? undefined : want));
    const heads = await Promise.all(streams.map((s) => s.next()));
    const out: DecodedRecord[] = [];
    let scanned = 0;
    let last: Position | undefined;
    while (out.length < want) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h.done) continue;
        if (
          best === -1 ||
          comparePos(
              h.value.pos,
              (heads[best] as IteratorYieldResult<Scanned>).value.pos,
              q.forward,
            ) < 0
        ) {
          best = i;
        }
      }
      if (best === -1) break;
      const { pos, rec } = (heads[best] as IteratorYieldResult<Scanned>).value;
      heads[best] = await streams[best].next();
      scanned++;
      last = pos;
      if (!filter || filter(rec)) out.push(rec);
      if (scanned >= MAX_SCAN && out.length < want) {
        await Promise.all(streams.map((s) => s.return?.(undefined)));
        return { messages: await this.#finish(out, q.forward), next: last };
      }
    }
    await Promise.all(streams.map((s) => s.return?.(undefined)));
    const more = out.length > q.pageSize;
    if (more) out.length = q.pageSize;
    const page = await this.#finish(out, q.forward);
    if (!more || page.length === 0) return { messages: page };
    const edge = q.forward ? page[page.length - 1] : page[0];
    return { messages: page, next: { time: timeOf(edge, q.order), hash: edge.hash } };
  }

  async #finish(recs: DecodedRecord[], forward: boolean): Promise<StoredMessage[]> {
    if (!forward) recs.reverse();
    return await Promise.all(recs.map((r) => this.#complete(r)));
  }

  async #complete(r: DecodedRecord): Promise<StoredMessage> {
    if (r.blobSize > 0) {
      r.message.payload = await readBlob(this.store, blobPrefix(r.hash), r.blobSize);
    }
    return {
      hash: r.hash,
      pubsubTopic: r.pubsubTopic,
      receivedTime: r.receivedTime,
      message: r.message,
    };
  }

  #bases(q: IndexQuery): Deno.KvKey[] {
    if (q.order === "received") {
      return q.contentTopics.length ? q.contentTopics.map((ct) => [P, "rc", ct]) : [[P, "r"]];
    }
    if (q.contentTopics.length) return q.contentTopics.map((ct) => [P, "tc", ct]);
    return q.pubsubTopic !== undefined ? [[P, "tp", q.pubsubTopic]] : [[P, "t"]];
  }

  /** Iterates one index range in query order. */
  async *#scan(base: Deno.KvKey, q: IndexQuery, limit?: number): AsyncGenerator<Scanned> {
    const n = base.length;
    // Lower bound (inclusive) and upper bound (exclusive) as keys.
    let lower: Deno.KvKey | undefined = q.startTime !== undefined
      ? [...base, q.startTime]
      : undefined;
    let upper: Deno.KvKey | undefined = q.endTime !== undefined
      ? [...base, q.endTime + 1n]
      : undefined;
    const c = q.cursor;
    if (c && q.forward && (q.startTime === undefined || c.time >= q.startTime)) {
      lower = [...base, c.time, c.hash, new Uint8Array(0)]; // just after the cursor's key
    }
    if (c && !q.forward && (q.endTime === undefined || c.time <= q.endTime)) {
      upper = [...base, c.time, c.hash];
    }
    if (q.startTime !== undefined && q.endTime !== undefined && q.startTime > q.endTime) return;
    const selector: Deno.KvListSelector = lower && upper
      ? { start: lower, end: upper }
      : lower
      ? { prefix: base, start: lower }
      : upper
      ? { prefix: base, end: upper }
      : { prefix: base };
    const batchSize = Math.min(limit ?? 500, 500);
    const iter = this.store.kv.list<Uint8Array>(selector, {
      reverse: !q.forward,
      limit,
      batchSize,
    });
    for await (const e of iter) {
      yield {
        pos: { time: e.key[n] as bigint, hash: e.key[n + 1] as Uint8Array },
        rec: decodeRecord(e.value),
      };
    }
  }

  /**
   * Deletes the oldest messages of a pubsub topic: those with a timestamp
   * before `before` (ns), and beyond the newest `keep`. Deletes at most
   * `maxDelete` per call, in commits that each check the entries are
   * unchanged, so concurrent runs never double-count. Returns how many.
   */
  async deleteOldest(
    pubsubTopic: string,
    opts: { before?: bigint; keep?: number; maxDelete: number },
  ): Promise<number> {
    let excess = 0;
    if (opts.keep !== undefined) excess = Math.max(0, (await this.count(pubsubTopic)) - opts.keep);
    const base = [P, "tp", pubsubTopic];
    const victims: Deno.KvEntry<Uint8Array>[] = [];
    for await (const e of this.store.kv.list<Uint8Array>({ prefix: base }, { batchSize: 200 })) {
      if (victims.length >= opts.maxDelete) break;
      const ts = e.key[3] as bigint;
      const old = opts.before !== undefined && ts < opts.before;
      if (!old && victims.length >= excess) break;
      victims.push(e);
    }
    let deleted = 0;
    const per = Math.min(this.store.limits.maxChecks, 100);
    for (let i = 0; i < victims.length; i += per) {
      const chunk = victims.slice(i, i + per);
      const res = await commit(this.store, "waku", (op) => {
        for (const e of chunk) {
          const rec = decodeRecord(e.value);
          op.check(e);
          op.delete(hashKey(rec.hash));
          for (const key of indexKeys(rec)) op.delete(key);
          if (rec.blobSize > 0) deleteBlob(op, blobPrefix(rec.hash), rec.blobSize);
        }
        op.sum([P, "n", pubsubTopic], U64 - BigInt(chunk.length));
      });
      if (!res.ok) break; // another run got there first; the next pass picks up from the new state
      deleted += chunk.length;
    }
    return deleted;
  }
}

interface Scanned {
  pos: Position;
  rec: DecodedRecord;
}

function timeOf(r: StoredMessage, order: Order): bigint {
  return order === "timestamp" ? r.message.timestamp : r.receivedTime;
}

function comparePos(a: Position, b: Position, forward: boolean): number {
  const c = a.time < b.time ? -1 : a.time > b.time ? 1 : compareBytes(a.hash, b.hash);
  return forward ? c : -c;
}
