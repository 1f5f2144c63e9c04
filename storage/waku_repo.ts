/**
 * The Waku store's repository: stores, pages, locates and deletes messages
 * in the layout of waku_layout.ts (read that first: what each key holds and
 * why each message's content is kept once).
 *
 * A message's keys are written in one atomic commit, guarded by a check that
 * its "h" key is new (the dedup) and one that the receive-order head "rt" is
 * unchanged (so receivedTimes follow commit order). This process commits one
 * run at a time and remembers the head it wrote, so only another process's
 * commit makes it read the head again.
 */
import { blobCost, blobKeys, blobSets, readBlob } from "./blobs.ts";
import { addRefCost, type BlobInfo, BlobStore, dropRefCost } from "./blob_store.ts";
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
import {
  chunksPrefix,
  counterKey,
  COUNTERS,
  EMPTY,
  endsWithTag,
  HEAD_KEY,
  hKey,
  type Located,
  locatedValue,
  R_INDEX,
  readLocated,
  receivedValue,
  receivedValueTimestamp,
  rKey,
  T_INDEX,
  tcIndex,
  tcKey,
  tKey,
  topicTag,
  tpIndex,
  tpKey,
} from "./waku_layout.ts";
import {
  decodeRecord,
  encodeRecord,
  expandRecord,
  packInt64,
  recordBlobSize,
  recordHasPubsubTopic,
  recordSharedBlob,
  recordTag,
  setReceivedTime,
  type StoredMessage,
  TAG_BLOB,
  TAG_SHARED_BLOB,
  trimRecord,
  unpackInt64,
} from "./waku_record.ts";
import { BusyError } from "../lib/errors.ts";
import { compareBytes, concat, utf8Encode } from "../lib/bytes.ts";

export type { StoredMessage } from "./waku_record.ts";
export type { Position } from "./index_scan.ts";
export type { Located } from "./waku_layout.ts";

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
const MAX_SCAN = 5000;
/** Commit attempts a run gets against other processes' commits before it reports busy. */
const MAX_ATTEMPTS = 100;
const U64 = 1n << 64n;

interface Prepared {
  rec: StoredMessage;
  /** The record, its receivedTime set at commit. */
  value: Uint8Array;
  /** A payload too big for the record, in chunks inside the commit (tag 4). */
  chunks?: Uint8Array;
  /** A payload too big for a commit, put in the shared blob store first (tag 5). */
  shared?: { payload: Uint8Array; blob?: BlobInfo };
  /** What its checks and sets add to a commit. */
  cost: CommitCost;
}

/** The head of receive order as this process last read or wrote it. */
interface Head {
  value: bigint;
  versionstamp: string | null;
}

/** What every run's commit adds once: the head's check and set. */
const HEAD_COST = addCosts(checkCost(HEAD_KEY), setCost(HEAD_KEY, 8));

/** The keys and values a message's publish commit sets (the payload's chunks aside). */
function messageSets(rec: StoredMessage, value: Uint8Array): [Deno.KvKey, Uint8Array][] {
  const { hash, pubsubTopic: ps, receivedTime: rt } = rec;
  const { timestamp: ts, contentTopic: ct } = rec.message;
  return [
    [tKey(ts, hash), value],
    [tcKey(ct, ts, hash), topicTag(ps)],
    [tpKey(ps, ts, hash), EMPTY],
    [rKey(rt, hash), receivedValue(ts, ct)],
    [hKey(hash), locatedValue(located(rec))],
  ];
}

const located = (rec: StoredMessage): Located => ({
  timestamp: rec.message.timestamp,
  receivedTime: rec.receivedTime,
});

function prepare(rec: StoredMessage, maxBytes: number): Prepared {
  let value = trimRecord(encodeRecord(rec));
  const p: Prepared = { rec, value, cost: NO_COST };
  let extra = NO_COST;
  if (value.length > MAX_VALUE_BYTES) {
    const payload = rec.message.payload;
    value = p.value = trimRecord(encodeRecord(rec, "chunks"));
    const chunks = blobCost(chunksPrefix(rec.hash), payload.length);
    // Chunks ride in the message's commit when they take at most half of one.
    if (2 * (value.length + chunks.bytes) <= maxBytes) {
      p.chunks = payload;
      extra = chunks;
    } else {
      p.shared = { payload };
      value = p.value = trimRecord(encodeRecord(rec, { sha256: new Uint8Array(32) }));
      extra = addRefCost(new Uint8Array(32));
    }
  }
  p.cost = addCosts(
    checkCost(hKey(rec.hash)),
    ...messageSets(rec, value).map(([k, v]) => setCost(k, v.length)),
    extra,
  );
  return p;
}

/** Whether a record's payload is kept out of it (in chunks or the blob store). */
function payloadElsewhere(value: Uint8Array): boolean {
  const tag = recordTag(value);
  return tag === TAG_BLOB || tag === TAG_SHARED_BLOB;
}

/** The full record of a "t" entry (its key has the timestamp and hash a trimmed one lacks). */
const fromEntry = (e: Deno.KvEntry<Uint8Array>): Uint8Array =>
  expandRecord(e.value, e.key[2] as bigint, e.key[3] as Uint8Array);

/** What the publish commit writes for a message (see publishWrites). */
export interface PublishWrites {
  /** Every key it sets, with its value ("h" last: the key its dedup check guards). */
  sets: [Deno.KvKey, Uint8Array][];
  /** The pubsub topic's counter, which the commit adds 1 to per message. */
  counter: Deno.KvKey;
  /** The receive-order head every commit checks and sets once. */
  head: Deno.KvKey;
}

/**
 * What the publish commit writes for a message of inline payload, for
 * tools that repeat the gateway's writes on raw KV (the bench) without
 * restating the layout.
 */
export function publishWrites(rec: StoredMessage): PublishWrites {
  return {
    sets: messageSets(rec, trimRecord(encodeRecord(rec))),
    counter: counterKey(rec.pubsubTopic),
    head: HEAD_KEY,
  };
}

/** Repository of Waku messages over one KV store. */
export class WakuRepo {
  #head: Head | undefined;
  /** The commit running now; the next waits for it (see the module comment). */
  #turn: Promise<unknown> = Promise.resolve();
  #counts: { at: number; counts: Promise<Map<string, number>> } | undefined;

  constructor(
    readonly store: Store,
    /** Where payloads too big for one commit go; the gateway passes the one it collects. */
    private readonly blobs: BlobStore = new BlobStore(store),
  ) {}

  /**
   * Stores messages; gives, per input, whether it was new (a duplicate, in
   * the batch or already stored, is stored once) or the error its commit
   * met. Sets each stored message's receivedTime to the one it was stored
   * with (at least the one it had; above every earlier commit's). Commits
   * are chunked to the KV limits, each message's keys in one commit; after a
   * commit fails, the messages of later commits are not tried and get the
   * same error.
   */
  async insert(msgs: readonly StoredMessage[]): Promise<PromiseSettledResult<boolean>[]> {
    const first = new Map<string, number>();
    const fresh: { i: number; p: Prepared }[] = [];
    const { limits } = this.store;
    for (let i = 0; i < msgs.length; i++) {
      const id = msgs[i].hash.toHex();
      if (first.has(id)) continue;
      first.set(id, i);
      fresh.push({ i, p: prepare(msgs[i], limits.maxBytes) });
    }
    const runs = chunkForCommit(fresh, limits, ({ p }, run) => {
      // The run's first message on a pubsub topic adds that topic's counter.
      const topic = p.rec.pubsubTopic;
      const counter = run.some((r) => r.p.rec.pubsubTopic === topic)
        ? NO_COST
        : sumCost(counterKey(topic));
      return addCosts(p.cost, counter, run.length ? NO_COST : HEAD_COST);
    });
    const outcomes: PromiseSettledResult<boolean>[] = new Array(msgs.length);
    let failure: unknown;
    for (const run of runs) {
      try {
        if (failure === undefined) {
          const stored = await this.#commitRun(run.map((c) => c.p));
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

  /** Puts a run's oversize payloads, then commits it when its turn comes. */
  async #commitRun(run: Prepared[]): Promise<boolean[]> {
    // A large payload goes to the blob store first, unless its message is stored already (a
    // repeat publish would upload it only to find the duplicate at the commit).
    const shared = run.filter((p) => p.shared);
    const known = await this.locateMany(shared.map((p) => p.rec.hash));
    const done = new Set(shared.filter((_, j) => known[j]));
    if (done.size) {
      const stored = await this.#commitRun(run.filter((p) => !done.has(p)));
      const byP = new Map(run.filter((p) => !done.has(p)).map((p, k) => [p, stored[k]]));
      return run.map((p) => done.has(p) ? false : byP.get(p)!);
    }
    for (const p of shared) await this.#putShared(p);
    const turn = this.#turn.then(() => this.#commitPending(run));
    this.#turn = turn.catch(() => {});
    return await turn;
  }

  async #putShared(p: Prepared): Promise<void> {
    const { payload } = p.shared!;
    const body = new Blob([payload as Uint8Array<ArrayBuffer>]).stream();
    const blob = await this.blobs.put(body, { maxBytes: payload.length });
    p.shared!.blob = blob;
    p.value = trimRecord(encodeRecord(p.rec, { sha256: blob.hash }));
  }

  /** Commits a run, guarded by its checks; a message found stored already is marked false. */
  async #commitPending(run: Prepared[]): Promise<boolean[]> {
    const stored = run.map(() => true);
    let pending = run.map((p, k) => ({ p, k }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      const head = this.#head ?? await this.#readHead();
      // The receivedTimes this attempt gives; the callers' records get them only once stored.
      let rt = head.value;
      const times = pending.map(({ p }) => {
        rt = p.rec.receivedTime > rt ? p.rec.receivedTime : rt + 1n;
        setReceivedTime(p.value, rt);
        return rt;
      });
      const res = await commit(this.store, "waku", (op) => {
        op.check({ key: HEAD_KEY, versionstamp: head.versionstamp }).set(HEAD_KEY, packInt64(rt));
        const counts = new Map<string, bigint>();
        for (const [j, { p }] of pending.entries()) {
          const rec = { ...p.rec, receivedTime: times[j] };
          op.check({ key: hKey(rec.hash), versionstamp: null });
          for (const [k, v] of messageSets(rec, p.value)) op.set(k, v);
          if (p.chunks) {
            for (const [k, v] of blobSets(chunksPrefix(rec.hash), p.chunks)) op.set(k, v);
          }
          if (p.shared) this.blobs.addRef(op, p.shared.blob!);
          counts.set(rec.pubsubTopic, (counts.get(rec.pubsubTopic) ?? 0n) + 1n);
        }
        for (const [topic, n] of counts) op.sum(counterKey(topic), n);
      });
      if (res.ok) {
        this.#head = { value: rt, versionstamp: res.versionstamp };
        pending.forEach(({ p }, j) => p.rec.receivedTime = times[j]);
        return stored;
      }
      // Another process moved the head, stored one of these, or (after the grace period of
      // a blob put long ago) collected a shared payload: find out which, and try again.
      this.#head = undefined;
      if (attempt >= MAX_ATTEMPTS) {
        throw new BusyError(`Waku commit conflicted ${attempt} times with other writers`);
      }
      const found = await getMany(this.store, pending.map(({ p }) => hKey(p.rec.hash)));
      pending = pending.filter(({ k }, j) => {
        if (found[j].versionstamp === null) return true;
        stored[k] = false;
        return false;
      });
      for (const { p } of pending) {
        if (p.shared && !(await this.blobs.stat(p.shared.blob!.hash))) await this.#putShared(p);
      }
    }
    return stored;
  }

  async #readHead(): Promise<Head> {
    const e = await this.store.kv.get<Uint8Array>(HEAD_KEY);
    return { value: e.value ? unpackInt64(e.value)[0] : 0n, versionstamp: e.versionstamp };
  }

  /** Where each message sits, by hash (undefined if not stored): one read each. */
  async locateMany(hashes: readonly Uint8Array[]): Promise<(Located | undefined)[]> {
    const found = await getMany<Uint8Array>(this.store, hashes.map(hKey));
    return found.map((e) => e.value ? readLocated(e.value) : undefined);
  }

  /** Where a message sits, by its hash; undefined if it is not stored. */
  async locate(hash: Uint8Array): Promise<Located | undefined> {
    return (await this.locateMany([hash]))[0];
  }

  /** The stored records among these hashes, ordered by (timestamp, hash), each once. */
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
    return await this.#completeAll(found.map(fromEntry));
  }

  /** Records with their payloads inline, leaving out those deleted since they were read. */
  async #completeAll(values: Uint8Array[]): Promise<Uint8Array[]> {
    // Nearly every record has its payload inline: only the others wait for a read.
    if (!values.some(payloadElsewhere)) return values;
    const out = await Promise.all(values.map((v) => payloadElsewhere(v) ? this.#complete(v) : v));
    return out.filter((v) => v !== undefined);
  }

  /**
   * A record with its payload inline (read from where it is kept); undefined
   * if the message was deleted after its record was read. Retention deletes
   * a record with its chunks (or its reference) in one commit, so a missing
   * payload means a deleted message, unless the record is still there: then
   * it was stored again meanwhile, and a second read finds the payload.
   */
  async #complete(value: Uint8Array): Promise<Uint8Array | undefined> {
    const rec = decodeRecord(value);
    let payload = await this.#payload(value, rec.hash);
    if (!payload) {
      const still = await this.store.kv.get(tKey(rec.message.timestamp, rec.hash));
      if (still.versionstamp === null) return undefined;
      payload = await this.#payload(value, rec.hash);
      if (!payload) throw new Error(`Payload of message 0x${rec.hash.toHex()} is missing`);
    }
    rec.message.payload = payload;
    return encodeRecord(rec);
  }

  async #payload(value: Uint8Array, hash: Uint8Array): Promise<Uint8Array | undefined> {
    const size = recordBlobSize(value);
    const sha = recordSharedBlob(value);
    if (!sha) return await readBlob(this.store, chunksPrefix(hash), size);
    const got = await this.blobs.get(sha);
    if (!got) return undefined;
    const parts: Uint8Array[] = [];
    try {
      for await (const part of got.stream) parts.push(part);
    } catch {
      return undefined; // collected while read
    }
    const bytes = concat(parts);
    return bytes.length === size ? bytes : undefined;
  }

  /** Messages stored on a pubsub topic, from its counter. */
  async count(pubsubTopic: string): Promise<number> {
    const e = await this.store.kv.get<Deno.KvU64>(counterKey(pubsubTopic));
    return e.value ? Number(e.value.value) : 0;
  }

  /** Every pubsub topic with a counter, and its count. */
  async topics(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const e of this.store.kv.list<Deno.KvU64>({ prefix: COUNTERS })) {
      out.set(e.key[2] as string, Number(e.value.value));
    }
    return out;
  }

  /** The share of stored messages on a pubsub topic, from counts at most a second old. */
  async #share(pubsubTopic: string): Promise<number> {
    const now = performance.now();
    if (!this.#counts || now - this.#counts.at > 1000) {
      this.#counts = { at: now, counts: this.topics() };
    }
    const counts = await this.#counts.counts;
    let total = 0;
    for (const n of counts.values()) total += n;
    return total === 0 ? 0 : (counts.get(pubsubTopic) ?? 0) / total;
  }

  /**
   * Reads one page: merges the matching index ranges in (time, hash) order,
   * applies the filters no index covers, and stops at pageSize or MAX_SCAN
   * entries read. Pages are always oldest→newest.
   */
  async page(q: IndexQuery): Promise<IndexPage> {
    const plan = await this.#plan(q);
    const { entries: out, capped } = await mergePage(
      this.store.kv,
      plan.bases,
      q,
      q.pageSize + 1,
      MAX_SCAN,
      plan.keep,
    );
    const more = capped === undefined && out.length > q.pageSize;
    if (more) out.length = q.pageSize;
    if (!q.forward) out.reverse();
    let records = plan.inline
      ? await this.#completeAll(out.map((s) => expandRecord(s.value, s.pos.time, s.pos.hash)))
      : await this.#records(out.map((s) => tKey(plan.timestamp(s), s.pos.hash)));
    if (plan.exact) records = records.filter(plan.exact);
    if (capped) return { records, next: capped };
    if (!more || out.length === 0) return { records };
    const edge = q.forward ? out[out.length - 1] : out[0];
    return { records, next: edge.pos };
  }

  /** Which indexes a page reads, what it skips, and whether their values are the records. */
  async #plan(q: IndexQuery): Promise<{
    bases: Deno.KvKey[];
    keep?: (s: Scanned) => boolean;
    /** The exact filter, on the records, where `keep` compared topic tags. */
    exact?: (record: Uint8Array) => boolean;
    inline: boolean;
    timestamp: (s: Scanned) => bigint;
  }> {
    // A topic named twice is one index range, not two (each message once).
    const topics = [...new Set(q.contentTopics)];
    const byTime = (s: Scanned) => s.pos.time;
    if (q.order === "received") {
      const tags = topics.map(topicTag);
      return {
        bases: [R_INDEX],
        keep: topics.length ? (s) => endsWithTag(s.value, tags) : undefined,
        exact: topics.length
          ? (r) => topics.includes(decodeRecord(r).message.contentTopic)
          : undefined,
        inline: false,
        timestamp: (s) => receivedValueTimestamp(s.value),
      };
    }
    const ps = q.pubsubTopic;
    const psBytes = ps === undefined ? undefined : utf8Encode(ps);
    if (topics.length) {
      // "tc" is keyed by the content topic's tag and holds the pubsub topic's: the records,
      // read next, settle both topics exactly.
      const tag = ps === undefined ? undefined : [topicTag(ps)];
      return {
        bases: topics.map(tcIndex),
        keep: tag && ((s) => endsWithTag(s.value, tag)),
        exact: (r) => {
          if (psBytes && !recordHasPubsubTopic(r, psBytes)) return false;
          return topics.includes(decodeRecord(r).message.contentTopic);
        },
        inline: false,
        timestamp: byTime,
      };
    }
    if (ps === undefined) return { bases: [T_INDEX], inline: true, timestamp: byTime };
    // A store of one pubsub topic pages it as fast as the whole store.
    if (await this.#share(ps) === 1) {
      const bytes = utf8Encode(ps);
      const keep = (s: Scanned) => recordHasPubsubTopic(s.value, bytes);
      return { bases: [T_INDEX], keep, inline: true, timestamp: byTime };
    }
    return {
      bases: [tpIndex(ps)],
      exact: (r) => recordHasPubsubTopic(r, psBytes!),
      inline: false,
      timestamp: byTime,
    };
  }

  /**
   * Deletes the oldest messages of a pubsub topic: those with a timestamp
   * before `before` (ns), and beyond the newest `keep`. Deletes at most
   * `maxDelete` per call, in commits that each check the records are
   * unchanged, so concurrent runs never double-count. Returns how many.
   */
  async deleteOldest(
    pubsubTopic: string,
    opts: { before?: bigint; keep?: number; maxDelete: number },
  ): Promise<number> {
    let excess = 0;
    if (opts.keep !== undefined) excess = Math.max(0, (await this.count(pubsubTopic)) - opts.keep);
    // The oldest records of the topic, read in groups from "tp" (a message of another topic
    // under the same tag, of which none is known, is passed over).
    const topic = utf8Encode(pubsubTopic);
    const mine: Deno.KvEntry<Uint8Array>[] = [];
    const it = this.store.kv.list({ prefix: tpIndex(pubsubTopic) }, { batchSize: 500 });
    for (let done = false; !done && mine.length < opts.maxDelete;) {
      const keys: Deno.KvKey[] = [];
      while (keys.length < 100) {
        const n = await it.next();
        if (n.done) {
          done = true;
          break;
        }
        keys.push(tKey(n.value.key[3] as bigint, n.value.key[4] as Uint8Array));
      }
      for (const e of await getMany<Uint8Array>(this.store, keys)) {
        if (e.versionstamp === null || !recordHasPubsubTopic(fromEntry(e), topic)) continue;
        const old = opts.before !== undefined && (e.key[2] as bigint) < opts.before;
        if ((!old && mine.length >= excess) || mine.length >= opts.maxDelete) {
          done = true;
          break;
        }
        mine.push(e);
      }
    }
    const doomed = mine.map((entry) => {
      const value = fromEntry(entry);
      const rec = decodeRecord(value);
      const keys: Deno.KvKey[] = messageSets(rec, EMPTY).map(([k]) => k);
      keys.push(
        ...blobKeys(
          chunksPrefix(rec.hash),
          recordTag(value) === TAG_BLOB ? recordBlobSize(value) : 0,
        ),
      );
      return { entry, keys, shared: recordSharedBlob(value) };
    });
    const counter = counterKey(pubsubTopic);
    const runs = chunkForCommit(doomed, this.store.limits, (d, run) =>
      addCosts(
        checkCost(d.entry.key),
        ...d.keys.map(deleteCost),
        d.shared ? dropRefCost(d.shared) : NO_COST,
        run.length ? NO_COST : sumCost(counter),
      ));
    let deleted = 0;
    for (const run of runs) {
      const res = await commit(this.store, "waku", (op) => {
        for (const d of run) {
          op.check(d.entry);
          for (const k of d.keys) op.delete(k);
          if (d.shared) this.blobs.dropRef(op, d.shared);
        }
        op.sum(counter, U64 - BigInt(run.length));
      });
      if (!res.ok) break; // another run got there first; the next pass picks up from the new state
      deleted += run.length;
    }
    return deleted;
  }
}
