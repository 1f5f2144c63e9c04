/**
 * Brings a Waku store written by an earlier syncgate to the current layout
 * (waku_layout.ts), on start, before the gateway serves.
 *
 * Layout 1 (no "layout" key) kept the record in "tc" and "tp" too, the
 * timestamp alone in "r", a second receive-order index "rc", and hashes in
 * a backlog "q" that a background job moved to "h". Its "t" and chunk keys
 * are what layout 2 keeps, so the conversion rewrites per message "tc" and
 * "tp" (now keyed by topic tags), "r" and "h" (each commit checks the
 * message's "t" entry, so a message
 * retention deletes meanwhile gets no index entries back), then deletes
 * "rc" and "q", sets the receive-order head above every receivedTime, and
 * writes the layout number last. Every step is idempotent: a crash midway
 * is resumed by the next start, and two processes converting at once
 * write the same values.
 *
 * A store of a layout newer than this code knows is refused, never misread.
 */
import type { Logger } from "../lib/log.ts";
import {
  addCosts,
  checkCost,
  chunkForCommit,
  commit,
  deleteCost,
  getMany,
  setCost,
  type Store,
} from "./kv.ts";
import {
  EMPTY,
  HEAD_KEY,
  hKey,
  LAYOUT,
  LAYOUT_KEY,
  locatedValue,
  receivedValue,
  rKey,
  T_INDEX,
  tcKey,
  topicTag,
  tpKey,
} from "./waku_layout.ts";
import { decodeRecord, expandRecord, packInt64, unpackInt64 } from "./waku_record.ts";
import { SKIP, update } from "./kv_update.ts";

const BATCH = 200;

/** A "t" entry's record; one written by a process already on layout 2 is trimmed. */
const full = (e: Deno.KvEntry<Uint8Array>) =>
  expandRecord(e.value, e.key[2] as bigint, e.key[3] as Uint8Array);

/** Converts the store if it needs it; resolves once it is in the current layout. */
export async function migrateWakuStore(store: Store, log: Logger): Promise<void> {
  const kv = store.kv;
  const layout = (await kv.get<Deno.KvU64>(LAYOUT_KEY)).value?.value;
  if (layout === LAYOUT) return;
  if (layout !== undefined) {
    throw new Error(
      `The KV file's Waku store is in layout ${layout}, written by a newer syncgate; this one ` +
        `reads layout ${LAYOUT}. Run the newer syncgate, or start this one on another KV file.`,
    );
  }
  let converted = 0;
  let maxReceived = 0n;
  let batch: Deno.KvEntry<Uint8Array>[] = [];
  const flush = async () => {
    for (const e of batch) {
      const rt = decodeRecord(full(e)).receivedTime;
      if (rt > maxReceived) maxReceived = rt;
    }
    await convert(store, batch);
    converted += batch.length;
    if (converted % 100_000 < BATCH) log.info("Waku store: converting to layout 2", { converted });
    batch = [];
  };
  for await (const e of kv.list<Uint8Array>({ prefix: T_INDEX }, { batchSize: BATCH })) {
    batch.push(e);
    if (batch.length === BATCH) await flush();
  }
  if (batch.length) await flush();
  for (const prefix of [["waku", "rc"], ["waku", "q"]]) await deletePrefix(store, prefix);
  await raiseHead(store, maxReceived);
  await commit(store, "waku", (op) => op.set(LAYOUT_KEY, new Deno.KvU64(LAYOUT)));
  if (converted) log.info("Waku store: converted to layout 2", { messages: converted });
}

/** Writes layout 2's "tp", "r" and "h" for messages read from "t". */
async function convert(store: Store, entries: Deno.KvEntry<Uint8Array>[]): Promise<void> {
  const items = entries.map((e) => {
    const rec = decodeRecord(full(e));
    const { timestamp: ts, contentTopic: ct } = rec.message;
    const sets: [Deno.KvKey, Uint8Array][] = [
      [tcKey(ct, ts, rec.hash), topicTag(rec.pubsubTopic)],
      [tpKey(rec.pubsubTopic, ts, rec.hash), EMPTY],
      [rKey(rec.receivedTime, rec.hash), receivedValue(ts, ct)],
      [hKey(rec.hash), locatedValue({ timestamp: ts, receivedTime: rec.receivedTime })],
    ];
    // Layout 1 keyed "tc" and "tp" by the topics themselves.
    const deletes: Deno.KvKey[] = [
      ["waku", "tc", ct, ts, rec.hash],
      ["waku", "tp", rec.pubsubTopic, ts, rec.hash],
    ];
    return { e, sets, deletes };
  });
  const runs = chunkForCommit(
    items,
    store.limits,
    ({ e, sets, deletes }) =>
      addCosts(
        checkCost(e.key),
        ...sets.map(([k, v]) => setCost(k, v.length)),
        ...deletes.map(deleteCost),
      ),
  );
  for (const run of runs) {
    let live = run;
    while (live.length) {
      const res = await commit(store, "waku", (op) => {
        for (const { e, sets, deletes } of live) {
          op.check(e);
          for (const k of deletes) op.delete(k);
          for (const [k, v] of sets) op.set(k, v);
        }
      });
      if (res.ok) break;
      // A failed check is a message deleted since the list read it: convert the others.
      const now = await getMany(store, live.map(({ e }) => e.key));
      live = live.filter(({ e }, i) => now[i].versionstamp === e.versionstamp);
    }
  }
}

async function deletePrefix(store: Store, prefix: Deno.KvKey): Promise<void> {
  for (;;) {
    const keys: Deno.KvKey[] = [];
    for await (const e of store.kv.list({ prefix }, { limit: 500, batchSize: 500 })) {
      keys.push(e.key);
    }
    if (!keys.length) return;
    for (const run of chunkForCommit(keys, store.limits, deleteCost)) {
      await commit(store, "waku", (op) => {
        for (const k of run) op.delete(k);
      });
    }
  }
}

/** Sets the receive-order head to at least `value` (never lowers it). */
async function raiseHead(store: Store, value: bigint): Promise<void> {
  await update<Uint8Array>(
    store,
    HEAD_KEY,
    (cur) => cur && unpackInt64(cur)[0] >= value ? SKIP : packInt64(value),
    { name: "waku" },
  );
}
