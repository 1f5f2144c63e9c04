/**
 * MvdsRepo on a KV file: a node's whole state is there after reopening the
 * file; a record and its due-index entry move together; a commit against
 * a stale head writes nothing; changes too big for one commit split into
 * runs that each commit.
 */
import assert from "node:assert/strict";
import { createMetrics } from "../../lib/metrics.ts";
import { openStore } from "../../storage/kv.ts";
import { MvdsRepo } from "../../storage/mvds_repo.ts";
import { halvePart, payloadParts } from "../../services/mvds_changes.ts";
import { int64BE } from "../../lib/bytes.ts";
import { tempDir } from "../temp_dir.ts";

const NODE = new Uint8Array(32).fill(1);
const PEER = new Uint8Array([2, 2]);
const GROUP = new Uint8Array([3]);
const ID = new Uint8Array(32).fill(4);
const message = { groupId: GROUP, timestamp: -(1n << 62n), body: new Uint8Array([5, 6]) };

Deno.test("mvds repo: a node's state survives reopening the KV file", async () => {
  const { dir, cleanup } = await tempDir();
  const path = `${dir}/mvds.kv`;
  try {
    let store = await openStore(path, createMetrics());
    let repo = new MvdsRepo(store);
    const config = { mode: "batch" as const, epochMs: 50, backoffCapEpochs: 8, createdAt: 1 };
    assert.ok(await repo.createNode(NODE, config));
    assert.ok(!(await repo.createNode(NODE, config)), "an id is taken once");
    const head = (await repo.head(NODE))!;
    const record = { id: ID, type: "MESSAGE" as const, sendCount: 0, sendEpoch: 10 };
    const next = await repo.commit(NODE, head, {
      peers: [{ peer: PEER, info: { url: "http://x/y", lastHeardEpoch: 9 } }],
      members: [{ group: GROUP, peer: PEER }],
      messages: [{ id: ID, message, from: PEER }],
      records: [{ peer: PEER, after: record }],
      acks: [{ peer: PEER, id: ID, pending: true }],
      deliveries: [{
        peer: PEER,
        id: ID,
        delivery: { state: "acked", sendCount: 1, sendEpoch: 3 },
      }],
    });
    assert.equal(next?.seq, 1);
    store.kv.close();

    store = await openStore(path, createMetrics());
    repo = new MvdsRepo(store);
    try {
      assert.deepEqual(await repo.node(NODE), config);
      assert.deepEqual(await repo.peer(NODE, PEER), { url: "http://x/y", lastHeardEpoch: 9 });
      assert.deepEqual(await repo.groupPeers(NODE, GROUP, 10), [PEER]);
      assert.deepEqual(await repo.peerGroups(NODE, PEER, 10), [GROUP]);
      const held = (await repo.messagesAfter(NODE, GROUP, 0, 10))[0];
      assert.deepEqual(held.id, ID);
      assert.equal(held.message.timestamp, -(1n << 62n), "timestamps are kept exactly");
      assert.deepEqual(held.message.from, PEER);
      assert.deepEqual(await repo.dueRecords(NODE, PEER, 9, 10), []);
      assert.deepEqual(await repo.dueRecords(NODE, PEER, 10, 10), [record]);
      assert.deepEqual(await repo.acks(NODE, PEER, 10), [ID]);
      assert.deepEqual((await repo.deliveries(NODE, ID))[0].delivery.state, "acked");
      assert.deepEqual(await repo.counts(NODE), { messages: 1, records: 1 });

      // The record moves to epoch 300: the due index moves with it.
      const h = (await repo.head(NODE))!;
      const moved = { ...record, sendCount: 1, sendEpoch: 300 };
      assert.ok(
        await repo.commit(NODE, h, { records: [{ peer: PEER, before: record, after: moved }] }),
      );
      assert.deepEqual(await repo.dueRecords(NODE, PEER, 299, 10), []);
      assert.deepEqual(await repo.dueRecords(NODE, PEER, 300, 10), [moved]);
      // A commit against the old head is refused and writes nothing.
      assert.equal(await repo.commit(NODE, h, { records: [{ peer: PEER, before: moved }] }), null);
      assert.deepEqual(await repo.counts(NODE), { messages: 1, records: 1 });
      const h2 = (await repo.head(NODE))!;
      assert.ok(await repo.commit(NODE, h2, { records: [{ peer: PEER, before: moved }] }));
      assert.deepEqual(await repo.dueRecords(NODE, PEER, 1000, 10), []);
      assert.deepEqual(await repo.counts(NODE), { messages: 1, records: 0 });
    } finally {
      store.kv.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("mvds repo: changes too big for one commit split into runs that each commit", async () => {
  const { dir, cleanup } = await tempDir();
  const store = await openStore(`${dir}/mvds.kv`, createMetrics());
  try {
    const repo = new MvdsRepo(store);
    await repo.createNode(NODE, { mode: "batch", epochMs: 50, backoffCapEpochs: 8, createdAt: 1 });
    const records = Array.from({ length: 2000 }, (_, i) => {
      const id = new Uint8Array(32);
      new DataView(id.buffer).setUint32(0, i);
      return { peer: PEER, after: { id, type: "OFFER" as const, sendCount: 0, sendEpoch: i } };
    });
    const runs = repo.split(NODE, { records });
    assert.ok(runs.length > 1);
    assert.equal(runs.flatMap((r) => r.records ?? []).length, 2000);
    for (const run of runs) {
      assert.ok(await repo.commit(NODE, (await repo.head(NODE))!, run));
    }
    assert.equal((await repo.counts(NODE)).records, 2000);
    assert.equal((await repo.dueRecords(NODE, PEER, 99, 5000)).length, 100);
  } finally {
    store.kv.close();
    await cleanup();
  }
});

Deno.test("mvds repo: the due index carries the record, and a bare entry is still read", async () => {
  const { dir, cleanup } = await tempDir();
  const store = await openStore(`${dir}/mvds.kv`, createMetrics());
  try {
    const repo = new MvdsRepo(store);
    const config = { mode: "batch" as const, epochMs: 50, backoffCapEpochs: 8, createdAt: 1 };
    await repo.createNode(NODE, config);
    const ids = [1, 2, 3].map((i) => new Uint8Array(32).fill(i));
    const records = ids.map((id, i) => ({
      id,
      type: (["OFFER", "REQUEST", "MESSAGE"] as const)[i],
      sendCount: i * 1000,
      sendEpoch: 5 + i,
    }));
    await repo.commit(NODE, (await repo.head(NODE))!, {
      records: records.map((after) => ({ peer: PEER, after })),
    });
    let reads = 0;
    const getMany = store.kv.getMany.bind(store.kv);
    store.kv.getMany = ((keys: Deno.KvKey[]) => {
      reads++;
      return getMany(keys);
    }) as typeof store.kv.getMany;
    assert.deepEqual(await repo.dueRecords(NODE, PEER, 100, 10), records);
    assert.equal(reads, 0, "one range list, no record read");
    // An entry written without the fields (as before they were added): read from "r".
    await store.kv.set(["mvds", "d", NODE, PEER, int64BE(6n), ids[1]], new Uint8Array(0));
    assert.deepEqual(await repo.dueRecords(NODE, PEER, 100, 10), records);
    assert.equal(reads, 1);
  } finally {
    store.kv.close();
    await cleanup();
  }
});

Deno.test("mvds changes: inbound parts fill a commit by cost and halve when they do not fit", () => {
  const limits = { maxMutations: 10, maxChecks: 100, maxBytes: 1 << 20, maxKeyBytes: 1 << 20 };
  const m = (i: number) => ({ groupId: GROUP, timestamp: BigInt(i), body: new Uint8Array([i]) });
  const payload = {
    acks: [1, 2, 3, 4, 5].map((i) => new Uint8Array(32).fill(i)),
    offers: [],
    requests: [],
    messages: [0, 1, 2, 3].map(m),
  };
  const c = (mutations: number) => ({ mutations, checks: 0, bytes: 0, keyBytes: 0 });
  const parts = payloadParts(payload, {
    limits,
    cost: (item) => "message" in item ? c(3) : c(2),
  });
  // 3 messages (9), then 1 message + 3 ACKs (9), then 2 ACKs.
  assert.deepEqual(parts.map((p) => [p.messages.length, p.acks.length]), [[3, 0], [1, 3], [0, 2]]);
  const [x, y] = halvePart(parts[1])!;
  assert.deepEqual([x.messages.length, x.acks.length, y.messages.length, y.acks.length], [
    1,
    1,
    0,
    2,
  ]);
  assert.equal(halvePart({ ...payload, acks: [], messages: [m(1)] }), null);
});
