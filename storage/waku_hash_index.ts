/**
 * The Waku store's hash index: where a message sits, by its hash (cursors,
 * `hashes=` lookups). Its keys (the rest are in waku_repo.ts):
 *
 * | key                            | value                                  |
 * | ------------------------------ | -------------------------------------- |
 * | ["waku","q",receivedTime,hash] | timestamp (8 bytes): not yet indexed   |
 * | ["waku","h",hash]              | timestamp ‖ receivedTime (16 bytes)    |
 *
 * "h" is not written on the publish path: a key placed by a random hash costs
 * several times a time-ordered one in KV's B-tree. The publish commit writes
 * a "q" entry instead, and indexPending() moves a batch of them into "h" in
 * hash order (neighbouring keys, so far fewer pages touched).
 *
 * Lookups read "h", then a memo of the backlog this process is writing (so a
 * fresh message's hash needs no wait and no scan), then scan "q" itself,
 * which then only holds what other processes, or this one before a restart,
 * left there. So a lookup is exact at every moment.
 */
import { compareBytes } from "../lib/bytes.ts";
import {
  addCosts,
  chunkForCommit,
  commit,
  deleteCost,
  getMany,
  setCost,
  type Store,
} from "./kv.ts";
import { packInt64, unpackInt64 } from "./waku_record.ts";

/** Most pending entries one indexPending() call moves into the hash index. */
export const INDEX_BATCH = 100_000;
/** Most backlog entries the memo holds; past it, lookups fall back to the "q" scan. */
const MEMO_LIMIT = 200_000;

/** Where a stored message sits in both orders. */
export interface Located {
  timestamp: bigint;
  receivedTime: bigint;
}

/** The backlog key a publish commit sets for a message, with its value. */
export function pendingEntry(
  hash: Uint8Array,
  at: Located,
): [Deno.KvKey, Uint8Array] {
  return [["waku", "q", at.receivedTime, hash], packInt64(at.timestamp)];
}

/** Every key the index may hold for a message (to delete it). */
export function hashIndexKeys(hash: Uint8Array, at: Located): Deno.KvKey[] {
  return [pendingEntry(hash, at)[0], ["waku", "h", hash]];
}

export class HashIndex {
  /** Backlog entries this process committed, by hex hash, until they are indexed. */
  readonly #memo = new Map<string, Located>();

  constructor(private readonly store: Store) {}

  /**
   * Notes a backlog entry about to be committed; false if one is noted for this hash
   * already (a duplicate publish: the first one's place stands) or the memo is full.
   */
  remember(hash: Uint8Array, at: Located): boolean {
    const id = hash.toHex();
    if (this.#memo.size >= MEMO_LIMIT || this.#memo.has(id)) return false;
    this.#memo.set(id, at);
    return true;
  }

  /** Drops a message whose keys were deleted. */
  forget(hash: Uint8Array): void {
    this.#memo.delete(hash.toHex());
  }

  /** Backlog entries this process remembers. */
  get memoSize(): number {
    return this.#memo.size;
  }

  /**
   * Forgets up to `max` of the oldest memo entries that are in the index by
   * now. The process holding the indexer's lease forgets what it moves; the
   * others learn it here, so their memos don't grow to their limit.
   */
  async pruneMemo(max = 1000): Promise<number> {
    const ids: string[] = [];
    for (const id of this.#memo.keys()) {
      if (ids.length === max) break;
      ids.push(id);
    }
    const found = await getMany(this.store, ids.map((id) => ["waku", "h", Uint8Array.fromHex(id)]));
    let n = 0;
    found.forEach((e, i) => {
      if (e.versionstamp !== null && this.#memo.delete(ids[i])) n++;
    });
    return n;
  }

  /** Where each message sits, by hash (undefined if not stored). */
  async locateMany(hashes: readonly Uint8Array[]): Promise<(Located | undefined)[]> {
    const found = await getMany<Uint8Array>(this.store, hashes.map((h) => ["waku", "h", h]));
    const missing = new Map<string, number[]>();
    const out = found.map((e, i): Located | undefined => {
      if (e.value) {
        const [timestamp, receivedTime] = unpackInt64(e.value);
        return { timestamp, receivedTime };
      }
      const id = hashes[i].toHex();
      const memo = this.#memo.get(id);
      if (!memo) missing.set(id, [...(missing.get(id) ?? []), i]);
      return memo;
    });
    if (missing.size === 0) return out;
    for await (
      const e of this.store.kv.list<Uint8Array>({ prefix: ["waku", "q"] }, { batchSize: 1000 })
    ) {
      const at = missing.get((e.key[3] as Uint8Array).toHex());
      if (!at) continue;
      const loc = { timestamp: unpackInt64(e.value)[0], receivedTime: e.key[2] as bigint };
      for (const i of at) out[i] = loc;
    }
    return out;
  }

  /**
   * Moves up to INDEX_BATCH backlog entries into the hash index, writing
   * them in hash order in commits as large as KV allows, so neighbouring
   * keys share B-tree pages. Without checks: if retention deletes a message
   * meanwhile, its "h" entry may outlive it, which is harmless (it still
   * names a valid cursor position, and record reads skip what is gone).
   * Returns how many moved.
   */
  async indexPending(): Promise<number> {
    const backlog: Deno.KvEntry<Uint8Array>[] = [];
    const iter = this.store.kv.list<Uint8Array>({ prefix: ["waku", "q"] }, {
      limit: INDEX_BATCH,
      batchSize: 1000,
    });
    for await (const e of iter) backlog.push(e);
    backlog.sort((a, b) => compareBytes(a.key[3] as Uint8Array, b.key[3] as Uint8Array));
    const moves = backlog.map((e) => ({
      from: e.key,
      to: ["waku", "h", e.key[3] as Uint8Array],
      value: packInt64(unpackInt64(e.value)[0], e.key[2] as bigint),
    }));
    const runs = chunkForCommit(
      moves,
      this.store.limits,
      (m) => addCosts(deleteCost(m.from), setCost(m.to, m.value.length)),
    );
    for (const chunk of runs) {
      const res = await commit(this.store, "waku", (op) => {
        for (const m of chunk) op.delete(m.from).set(m.to, m.value);
      });
      if (!res.ok) throw new Error("Hash index commit failed");
      for (const m of chunk) this.#memo.delete((m.from[3] as Uint8Array).toHex());
    }
    return backlog.length;
  }
}
