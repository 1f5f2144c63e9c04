/**
 * A Waku store written in layout 1 (the layout of syncgate before layout 2,
 * written here key by key as it wrote them) is converted on start and then
 * read as if it had been written in layout 2; a newer layout is refused.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { messageHash, type WakuMessage } from "../../protocols/waku/message.ts";
import { commit, type Store } from "../../storage/kv.ts";
import { LAYOUT_KEY } from "../../storage/waku_layout.ts";
import { migrateWakuStore } from "../../storage/waku_migrate.ts";
import {
  decodeRecord,
  encodeRecord,
  packInt64,
  type StoredMessage,
} from "../../storage/waku_record.ts";
import { WakuRepo } from "../../storage/waku_repo.ts";
import { withTwoStores } from "./two_stores.ts";

const PS = "/waku/2/rs/0/0";
const T0 = 1_732_000_000_000_000_000n;
const log = createLogger("silent");

function rec(i: number): StoredMessage {
  const message: WakuMessage = {
    payload: new TextEncoder().encode(`old ${i}`),
    contentTopic: `/app/1/t-${i % 2}/proto`,
    version: 0,
    timestamp: T0 + BigInt(i) * 1000n,
  };
  return {
    hash: messageHash(PS, message),
    pubsubTopic: PS,
    receivedTime: T0 + BigInt(i) * 7n,
    message,
  };
}

/** Writes messages as layout 1 did: 3 records, "r" and "rc", and "h" or the backlog "q". */
async function writeLayout1(store: Store, recs: StoredMessage[]): Promise<void> {
  for (const [i, r] of recs.entries()) {
    const value = encodeRecord(r);
    const { timestamp: ts, contentTopic: ct } = r.message;
    const small = packInt64(ts);
    await commit(store, "test", (op) => {
      op.set(["waku", "t", ts, r.hash], value)
        .set(["waku", "tp", PS, ts, r.hash], value)
        .set(["waku", "tc", ct, ts, r.hash], value)
        .set(["waku", "r", r.receivedTime, r.hash], small)
        .set(["waku", "rc", ct, r.receivedTime, r.hash], small)
        .sum(["waku", "n", PS], 1n);
      if (i % 2) op.set(["waku", "q", r.receivedTime, r.hash], small);
      else op.set(["waku", "h", r.hash], packInt64(ts, r.receivedTime));
    });
  }
}

Deno.test("migrate: a layout 1 store is converted, read exactly, and written on in order", async () => {
  await withTwoStores(async (a) => {
    const old = Array.from({ length: 25 }, (_, i) => rec(i));
    await writeLayout1(a, old);
    await migrateWakuStore(a, log);
    await migrateWakuStore(a, log); // a second start: nothing to do
    const repo = new WakuRepo(a);
    // Every hash, from "h" whether layout 1 had indexed it or left it in "q".
    const at = await repo.locateMany(old.map((r) => r.hash));
    assert.deepEqual(
      at,
      old.map((r) => ({ timestamp: r.message.timestamp, receivedTime: r.receivedTime })),
    );
    // Beta2 order with a content filter, now from "r" alone.
    const page = await repo.page({
      order: "received",
      contentTopics: ["/app/1/t-1/proto"],
      forward: true,
      pageSize: 100,
    });
    assert.deepEqual(
      page.records.map((v) => decodeRecord(v).hash.toHex()),
      old.filter((_, i) => i % 2).map((r) => r.hash.toHex()),
    );
    // By pubsub topic, from the converted "tp".
    const byTopic = await repo.page({
      order: "timestamp",
      contentTopics: [],
      pubsubTopic: PS,
      forward: false,
      pageSize: 5,
    });
    assert.deepEqual(
      byTopic.records.map((v) => decodeRecord(v).hash.toHex()),
      old.slice(-5).map((r) => r.hash.toHex()),
    );
    const gone = [];
    for (const p of ["rc", "q"]) {
      for await (const e of a.kv.list({ prefix: ["waku", p] })) gone.push(e.key);
    }
    assert.deepEqual(gone, []);
    assert.equal((await a.kv.get<Deno.KvU64>(LAYOUT_KEY)).value?.value, 2n);
    // A message received now sorts after every converted one, even with an older clock.
    const fresh = { ...rec(100), receivedTime: T0 };
    await repo.insert([fresh]);
    assert.ok(fresh.receivedTime > old.at(-1)!.receivedTime);
    // Retention deletes converted messages whole.
    assert.equal(await repo.deleteOldest(PS, { keep: 0, maxDelete: 100 }), 26);
    const left = [];
    for await (const e of a.kv.list({ prefix: ["waku"] })) left.push(e.key[1]);
    assert.deepEqual(left.sort(), ["layout", "n", "rt"]);
  });
});

Deno.test("migrate: two processes converting at once agree", async () => {
  await withTwoStores(async (a, b) => {
    const old = Array.from({ length: 40 }, (_, i) => rec(i));
    await writeLayout1(a, old);
    await Promise.all([migrateWakuStore(a, log), migrateWakuStore(b, log)]);
    const at = await new WakuRepo(b).locateMany(old.map((r) => r.hash));
    assert.equal(at.filter((x) => x).length, 40);
  });
});

Deno.test("migrate: a store of a newer layout is refused with what to do", async () => {
  await withTwoStores(async (a) => {
    await a.kv.set(LAYOUT_KEY, new Deno.KvU64(3n));
    await assert.rejects(() => migrateWakuStore(a, log), /layout 3, written by a newer syncgate/);
  });
});
