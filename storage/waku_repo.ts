/**
 * The Waku store's repository: every message key layout lives here.
 *
 * | key                                  | value                                          |
 * | ------------------------------------ | ---------------------------------------------- |
 * | ["waku","t",timestamp,hash]          | record (waku_record.ts): store v3 order        |
 * | ["waku","tp",pubsubTopic,ts,hash]    | record: v3 by pubsub topic; retention          |
 * | ["waku","tc",contentTopic,ts,hash]   | record: v3 by content topic                    |
 * | ["waku","r",receivedTime,hash]       | timestamp (8 bytes): store 2.0.0-beta2 order   |
 * | ["waku","rc",contentTopic,recv,hash] | timestamp: beta2 by content topic              |
 * | ["waku","q",…], ["waku","h",…]       | the hash index: waku_hash_index.ts             |
 * | ["waku","n",pubsubTopic]             | Deno.KvU64: messages stored on the topic       |
 * | ["waku","b",hash,i]                  | payload chunk i of a message too big inline    |
 *
 * Times are bigint ns and hashes 32 raw bytes, so KV's key order is the
 * store's order, (time, hash). A message's keys (with its hash-index backlog
 * entry "q") are written in one atomic commit, guarded by a check that its
 * "t" key is new: the "t" key is fixed by the message's content, so that
 * check is the dedup.
 */
import { blobCost, blobKeys, blobSets, readBlob, writeBlob } from "./blobs.ts";
import { mergePage, type Position, type Scanned, type ScanRange } from "./index_scan.ts";
import {
  addCosts,
  checkCost,
  chunkForCommit,
  commit,
  type CommitCost,
  deleteCost,
  getMany,
  MAX_VALUE_BYTES,
  NO_COST,
  setCost,
  type Store,
  sumCost,
} from "./kv.ts";
import { HashIndex, hashIndexKeys, type Located, pendingEntry } from "./waku_hash_index.ts";
import {
  decodeRecord,
  encodeRecord,
  packInt64,
  recordBlobSize,
  recordHasPubsubTopic,
  recordTag,
  type StoredMessage,
  TAG_BLOB,
  unpackInt64,
} from "./waku_record.ts";
import { compareBytes, utf8Encode } from "../lib/bytes.ts";

export type { StoredMessage } from "./waku_record.ts";
export type { Position } from "./index_scan.ts";
export type { Located } from "./waku_hash_index.ts";
export { INDEX_BATCH } from "./waku_hash_index.ts";

/** Which time a query orders by: the message's timestamp (v3) or our receive time (beta2). */
export type Order = "timestamp" | "received";

/** One page request against the indexes. */
export interface IndexQuery extends ScanRange {
  order: Order;
  /** Empty = every content topic. */
  contentTopics: string[];
  /** Only with order "timestamp". */
  pubsubTopic?: string;
  pageSize: number;
}

/** A page of records (payloads inline), oldest→newest; `next` is where a next page starts. */
export interface IndexPage {
  records: Uint8Array[];
  next?: Position;
}

/** Most index entries one page request reads before it returns what it has. */
export const MAX_SCAN = 5000;

const P = "waku";
const U64 = 1n << 64n;

interface Prepared {
  rec: StoredMessage;
  /** Every key the publish commit sets for this message, with its value ("t" first). */
  sets: [Deno.KvKey, Uint8Array][];
  /** Payload bytes kept in a chunked blob, when the record is too big inline. */
  blob?: Uint8Array;
  /** What the dedup check and the sets add to a commit. */
  cost: CommitCost;
  /** What the blob's chunks would add to it. */
  blobCost: CommitCost;
}

function prepare(rec: StoredMessage): Prepared {
  let value = encodeRecord(rec);
  let blob: Uint8Array | undefined;
  if (value.length > MAX_VALUE_BYTES) {
    value = encodeRecord(rec, true);
    blob = rec.message.payload;
  }
  const sets = messageKeys(rec, value);
  sets.push(pendingEntry(rec.hash, located(rec)));
  return {
    rec,
    sets,
    blob,
    cost: addCosts(checkCost(sets[0][0]), ...sets.map(([k, v]) => setCost(k, v.length))),
    blobCost: blob ? blobCost(blobPrefix(rec.hash), blob.length) : NO_COST,
  };
}

const located = (rec: StoredMessage): Located => ({
  timestamp: rec.message.timestamp,
  receivedTime: rec.receivedTime,
});

/** The keys of a message other than the hash index's, with their values ("t" first). */
function messageKeys(rec: StoredMessage, value: Uint8Array): [Deno.KvKey, Uint8Array][] {
  const { hash, pubsubTopic: ps, receivedTime: rt } = rec;
  const { timestamp: ts, contentTopic: ct } = rec.message;
  const small = packInt64(ts);
  return [
    [[P, "t", ts, hash], value],
    [[P, "tp", ps, ts, hash], value],
    [[P, "tc", ct, ts, hash], value],
    [[P, "r", rt, hash], small],
    [[P, "rc", ct, rt, hash], small],
  ];
}

const tKey = (ts: bigint, hash: Uint8Array): Deno.KvKey => [P, "t", ts, hash];
const counterKey = (pubsubTopic: string): Deno.KvKey => [P, "n", pubsubTopic];
const blobPrefix = (hash: Uint8Array): Deno.KvKey => [P, "b", hash];

/** What a message's publish commit writes (see publishWrites). */
export interface PublishWrites {
  /** Every key it sets, with its value; "t" first, the key its dedup check guards. */
  sets: [Deno.KvKey, Uint8Array][];
  /** The pubsub topic's counter, which the commit adds 1 to per message. */
  counter: Deno.KvKey;
  /** Whether the payload goes to a chunked blob, whose keys `sets` leaves out. */
  blob: boolean;
}

/**
 * What the publish commit writes for a message, for tools that repeat the
 * gateway's writes on raw KV (bench/waku_bench.ts) without restating the layout.
 */
export function publishWrites(rec: StoredMessage): PublishWrites {
  const p = prepare(rec);
  return { sets: p.sets, counter: counterKey(rec.pubsubTopic), blob: p.blob !== undefined };
}

/**
 * The prefix of the hash index's backlog: pendingEntry's keys without their
 * (receivedTime, hash). Empty when the indexer has caught up.
 */
export const HASH_BACKLOG_PREFIX: Deno.KvKey = pendingEntry(new Uint8Array(32), {
  timestamp: 0n,
  receivedTime: 0n,
})[0].slice(0, -2);

/** Repository of Waku messages over one KV store. */
export class WakuRepo {
  readonly #hashes: HashIndex;

  constructor(readonly store: Store) {
    this.#hashes = new HashIndex(store);
  }

  /**
   * Stores messages; gives, per input, whether it was new (a duplicate, in
   * the batch or already stored, is stored once) or the error its commit
   * met. Commits are chunked to the KV limits, each message's keys in one
   * commit; after a commit fails, the messages of later commits are not
   * tried and get the same error.
   */
  async insert(msgs: readonly StoredMessage[]): Promise<PromiseSettledResult<boolean>[]> {
    const first = new Map<string, number>();
    const fresh: { i: number; p: Prepared }[] = [];
    for (let i = 0; i < msgs.length; i++) {
      const id = msgs[i].hash.toHex();
      if (first.has(id)) continue;
      first.set(id, i);
      fresh.push({ i, p: prepare(msgs[i]) });
    }
    const runs = chunkForCommit(fresh, this.store.limits, ({ p }, run) => {
      // The run's first message on a pubsub topic adds that topic's counter.
      const topic = p.rec.pubsubTopic;
      const counter = run.some((r) => r.p.rec.pubsubTopic === topic)
        ? NO_COST
        : sumCost(counterKey(topic));
      return addCosts(p.cost, this.#inlineBlob(p) ? p.blobCost : NO_COST, counter);
    });
    const outcomes: PromiseSettledResult<boolean>[] = new Array(msgs.length);
    let failure: unknown;
    for (const run of runs) {
      try {
        if (failure === undefined) {
          const stored = await this.#commitNew(run.map((c) => c.p));
          run.forEach((c, k) => outcomes[c.i] = { status: "fulfilled", value: stored[k] });
          continue;
        }
      } catch (e) {
        failure = e;
      }
      for (const c of run) outcomes[c.i] = { status: "rejected", reason: failure };
    }
    // A repeat within the batch shares its first copy's fate, as a duplicate.
    for (let i = 0; i < msgs.length; i++) {
      if (outcomes[i]) continue;
      const o = outcomes[first.get(msgs[i].hash.toHex())!];
      outcomes[i] = o.status === "rejected" ? o : { status: "fulfilled", value: false };
    }
    return outcomes;
  }

  /** Commits a chunk; on a dedup conflict, drops the ones already stored and retries. */
  async #commitNew(chunk: Prepared[]): Promise<boolean[]> {
    const stored = chunk.map(() => true);
    for (const p of chunk) {
      if (p.blob && !this.#inlineBlob(p)) {
        // Content-addressed by hash: rewriting an existing blob writes the same bytes.
        await writeBlob(this.store, blobPrefix(p.rec.hash), p.blob);
      }
    }
    const pending = chunk.map((p, k) => ({ p, k }));
    // Known to lookups from before the commit on: a cursor at a message being stored names a
    // valid position, and the index's mover (which sees only committed entries) can't run first.
    const added = chunk.filter((p) => this.#hashes.remember(p.rec.hash, located(p.rec)));
    try {
      await this.#commitPending(pending, stored);
    } catch (e) {
      for (const p of added) this.#hashes.forget(p.rec.hash);
      throw e;
    }
    const dropped = new Set(chunk.filter((_, k) => !stored[k]));
    for (const p of added) if (dropped.has(p)) this.#hashes.forget(p.rec.hash);
    return stored;
  }

  /** Whether a blob goes into the message's own commit (else it is written first). */
  #inlineBlob(p: Prepared): boolean {
    return p.blob !== undefined &&
      p.cost.bytes + p.blobCost.bytes <= this.store.limits.maxBytes / 2;
  }

  /** Commits messages, guarded by their dedup checks; marks in `stored` those already there. */
  async #commitPending(pending: { p: Prepared; k: number }[], stored: boolean[]): Promise<void> {
    for (let attempt = 0; pending.length > 0; attempt++) {
      const res = await commit(this.store, "waku", (op) => {
        const counts = new Map<string, bigint>();
        for (const { p } of pending) {
          const { rec } = p;
          op.check({ key: p.sets[0][0], versionstamp: null });
          for (const [k, v] of p.sets) op.set(k, v);
          if (this.#inlineBlob(p)) {
            for (const [k, v] of blobSets(blobPrefix(rec.hash), p.blob!)) op.set(k, v);
          }
          counts.set(rec.pubsubTopic, (counts.get(rec.pubsubTopic) ?? 0n) + 1n);
        }
        for (const [topic, n] of counts) op.sum(counterKey(topic), n);
      });
      if (res.ok) break;
      if (attempt > 10) throw new Error("Waku insert kept conflicting");
      const found = await getMany(
        this.store,
        pending.map(({ p }) => tKey(p.rec.message.timestamp, p.rec.hash)),
      );
      pending = pending.filter(({ k }, j) => {
        if (found[j].versionstamp === null) return true;
        stored[k] = false;
        return false;
      });
    }
  }

  /** Where each message sits, by hash (undefined if not stored); exact at every moment. */
  locateMany(hashes: readonly Uint8Array[]): Promise<(Located | undefined)[]> {
    return this.#hashes.locateMany(hashes);
  }

  /** Where a message sits, by its hash; undefined if it is not stored. */
  async locate(hash: Uint8Array): Promise<Located | undefined> {
    return (await this.locateMany([hash]))[0];
  }

  /** The stored records among these hashes, ordered by (timestamp, hash). */
  async getByHashes(hashes: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const located = await this.locateMany(hashes);
    const keys: { ts: bigint; hash: Uint8Array }[] = [];
    const seen = new Set<string>();
    located.forEach((l, i) => {
      const id = hashes[i].toHex();
      if (l && !seen.has(id)) keys.push({ ts: l.timestamp, hash: hashes[i] }), seen.add(id);
    });
    keys.sort((a, b) => a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : compareBytes(a.hash, b.hash));
    return await this.#records(keys.map((k) => tKey(k.ts, k.hash)));
  }

  /** Reads records by their "t" keys, in that order, skipping any deleted meanwhile. */
  async #records(keys: Deno.KvKey[]): Promise<Uint8Array[]> {
    const entries = await getMany<Uint8Array>(this.store, keys);
    const found = entries.filter((e) => e.value !== null) as Deno.KvEntry<Uint8Array>[];
    return await this.#completeAll(found.map((e) => e.value));
  }

  /** Records with their payloads inline, leaving out those deleted since they were read. */
  async #completeAll(values: Uint8Array[]): Promise<Uint8Array[]> {
    const out = await Promise.all(values.map((v) => this.#complete(v)));
    return out.filter((v) => v !== undefined);
  }

  /**
   * A record with its payload inline (read from the blob when it is kept
   * there); undefined if the message was deleted after its record was read.
   * Retention deletes a record and its chunks in one commit, so missing
   * chunks mean a deleted message, unless the record is still there: then
   * it was stored again meanwhile, and a second read finds the chunks.
   */
  async #complete(value: Uint8Array): Promise<Uint8Array | undefined> {
    if (recordTag(value) !== TAG_BLOB) return value;
    const rec = decodeRecord(value);
    const prefix = blobPrefix(rec.hash);
    const size = recordBlobSize(value);
    let payload = await readBlob(this.store, prefix, size);
    if (!payload) {
      const still = await this.store.kv.get(tKey(rec.message.timestamp, rec.hash));
      if (still.versionstamp === null) return undefined;
      payload = await readBlob(this.store, prefix, size);
      if (!payload) {
        throw new Error(`Blob of message 0x${rec.hash.toHex()} is missing chunks`);
      }
    }
    rec.message.payload = payload;
    return encodeRecord(rec);
  }

  /** Messages stored on a pubsub topic, from its counter. */
  async count(pubsubTopic: string): Promise<number> {
    const e = await this.store.kv.get<Deno.KvU64>(counterKey(pubsubTopic));
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
   * applies the pubsub filter no index covers, and stops at pageSize or
   * MAX_SCAN entries read. Pages are always oldest→newest.
   */
  async page(q: IndexQuery): Promise<IndexPage> {
    // No index covers a pubsub topic with content topics: that filter reads the records.
    const topic = q.contentTopics.length > 0 && q.pubsubTopic !== undefined
      ? utf8Encode(q.pubsubTopic)
      : undefined;
    const keep = topic && ((s: Scanned) => recordHasPubsubTopic(s.value, topic));
    const { entries: out, capped } = await mergePage(
      this.store.kv,
      this.#bases(q),
      q,
      q.pageSize + 1,
      MAX_SCAN,
      keep,
    );
    const more = capped === undefined && out.length > q.pageSize;
    if (more) out.length = q.pageSize;
    if (!q.forward) out.reverse();
    const records = q.order === "timestamp"
      ? await this.#completeAll(out.map((s) => s.value))
      : await this.#records(out.map((s) => tKey(unpackInt64(s.value)[0], s.pos.hash)));
    if (capped) return { records, next: capped };
    if (!more || out.length === 0) return { records };
    const edge = q.forward ? out[out.length - 1] : out[0];
    return { records, next: edge.pos };
  }

  #bases(q: IndexQuery): Deno.KvKey[] {
    // A topic named twice is one index range, not two (each message once).
    const topics = [...new Set(q.contentTopics)];
    if (q.order === "received") {
      return topics.length ? topics.map((ct) => [P, "rc", ct]) : [[P, "r"]];
    }
    if (topics.length) return topics.map((ct) => [P, "tc", ct]);
    return q.pubsubTopic !== undefined ? [[P, "tp", q.pubsubTopic]] : [[P, "t"]];
  }

  /** Forgets remembered backlog entries another process has indexed (see HashIndex.pruneMemo). */
  pruneHashMemo(): Promise<number> {
    return this.#hashes.memoSize > 1000 ? this.#hashes.pruneMemo() : Promise.resolve(0);
  }

  /** Moves a batch of the hash-index backlog into the index; returns how many moved. */
  indexPending(): Promise<number> {
    return this.#hashes.indexPending();
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
    const victims: Deno.KvEntry<Uint8Array>[] = [];
    for await (
      const e of this.store.kv.list<Uint8Array>({ prefix: [P, "tp", pubsubTopic] }, {
        batchSize: 200,
      })
    ) {
      if (victims.length >= opts.maxDelete) break;
      const old = opts.before !== undefined && (e.key[3] as bigint) < opts.before;
      if (!old && victims.length >= excess) break;
      victims.push(e);
    }
    const doomed = victims.map((e) => {
      const rec = decodeRecord(e.value);
      const keys: Deno.KvKey[] = messageKeys(rec, e.value).map(([k]) => k);
      keys.push(...hashIndexKeys(rec.hash, located(rec)));
      keys.push(...blobKeys(blobPrefix(rec.hash), recordBlobSize(e.value)));
      return { entry: e, keys, hash: rec.hash };
    });
    const counter = counterKey(pubsubTopic);
    const runs = chunkForCommit(doomed, this.store.limits, (d, run) =>
      addCosts(
        checkCost(d.entry.key),
        ...d.keys.map(deleteCost),
        run.length ? NO_COST : sumCost(counter),
      ));
    let deleted = 0;
    for (const run of runs) {
      const res = await commit(this.store, "waku", (op) => {
        for (const d of run) {
          op.check(d.entry);
          for (const k of d.keys) op.delete(k);
        }
        op.sum(counter, U64 - BigInt(run.length));
      });
      if (!res.ok) break; // another run got there first; the next pass picks up from the new state
      for (const d of run) this.#hashes.forget(d.hash);
      deleted += run.length;
    }
    return deleted;
  }
}
