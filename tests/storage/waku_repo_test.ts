import assert from "node:assert/strict";
import { compareBytes } from "../../lib/bytes.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { messageHash, type WakuMessage } from "../../protocols/waku/message.ts";
import { BlobStore } from "../../storage/blob_store.ts";
import { topicTag } from "../../storage/waku_layout.ts";
import { openStore, type Store } from "../../storage/kv.ts";
import { decodeRecord } from "../../storage/waku_record.ts";
import {
  type IndexQuery,
  type Order,
  type Position,
  type StoredMessage,
  WakuRepo,
} from "../../storage/waku_repo.ts";
import { tempDir } from "../helpers.ts";
import { hookedStore } from "./hooked_store.ts";
import { withTwoStores } from "./two_stores.ts";

/** A view of the store that calls `onRead` on every get, getMany and list. */
function countingReads(store: Store, onRead: () => void): Store {
  const kv = new Proxy(store.kv, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (typeof v !== "function") return v;
      if (prop === "get" || prop === "getMany" || prop === "list") onRead();
      return v.bind(target);
    },
  });
  return { ...store, kv };
}

const PS = "/waku/2/rs/0/0";
const T0 = 1_732_000_000_000_000_000n;

async function withRepo(fn: (repo: WakuRepo, store: Store) => Promise<void>) {
  const { dir, cleanup } = await tempDir();
  const store = await openStore(`${dir}/repo.kv`, createMetrics());
  try {
    await fn(new WakuRepo(store), store);
  } finally {
    store.kv.close();
    await cleanup();
  }
}

/** A record; `i` makes it unique. Many records share times on purpose. */
function rec(
  i: number,
  opts: { ts?: bigint; recv?: bigint; ct?: string; ps?: string; payload?: Uint8Array } = {},
) {
  const message: WakuMessage = {
    payload: opts.payload ?? new TextEncoder().encode(`message ${i}`),
    contentTopic: opts.ct ?? `/app/1/topic-${i % 3}/proto`,
    version: 0,
    timestamp: opts.ts ?? T0 + BigInt(Math.floor(i / 40)) * 1_000_000n,
  };
  const pubsubTopic = opts.ps ?? PS;
  return {
    hash: messageHash(pubsubTopic, message),
    pubsubTopic,
    receivedTime: opts.recv ?? T0 + BigInt(Math.floor(i / 50)) * 1_000_000n, // 50 per millisecond
    message,
  } satisfies StoredMessage;
}

/** Inserts; whether each record was new (a failed commit throws). */
const ins = async (repo: WakuRepo, recs: StoredMessage[]) =>
  (await repo.insert(recs)).map((o) => {
    if (o.status === "rejected") throw o.reason;
    return o.value;
  });
/** A page, decoded. */
const pageOf = async (
  repo: WakuRepo,
  q: IndexQuery,
): Promise<{ messages: StoredMessage[]; next?: Position }> => {
  const p = await repo.page(q);
  return { messages: p.records.map(decodeRecord), next: p.next };
};

const timeOf = (r: StoredMessage, order: Order) =>
  order === "timestamp" ? r.message.timestamp : r.receivedTime;
const byOrder = (order: Order) => (a: StoredMessage, b: StoredMessage) => {
  const x = timeOf(a, order), y = timeOf(b, order);
  return x < y ? -1 : x > y ? 1 : compareBytes(a.hash, b.hash);
};
const hex = (r: StoredMessage) => r.hash.toHex();

async function walk(
  repo: WakuRepo,
  order: Order,
  forward: boolean,
  pageSize: number,
  contentTopics: string[] = [],
) {
  const pages: StoredMessage[][] = [];
  let cursor: Position | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await pageOf(repo, { order, contentTopics, cursor, forward, pageSize });
    if (page.messages.length) pages.push(page.messages);
    if (!page.next) break;
    cursor = page.next;
  }
  return pages;
}

for (const order of ["timestamp", "received"] as const) {
  Deno.test(`WakuRepo pages over 1,200 messages by ${order}: each once, forward and backward agree`, async () => {
    await withRepo(async (repo) => {
      const all = Array.from({ length: 1200 }, (_, i) => rec(i));
      // Insert in shuffled batches: the order must come from the keys, not insertion.
      const shuffled = [...all].sort(() => Math.random() - 0.5);
      for (let i = 0; i < shuffled.length; i += 300) await ins(repo, shuffled.slice(i, i + 300));
      const expected = [...all].sort(byOrder(order)).map(hex);

      const fwd = await walk(repo, order, true, 37);
      for (const page of fwd) {
        assert.ok(page.length <= 37);
        assert.deepEqual(
          page.map(hex),
          [...page].sort(byOrder(order)).map(hex),
          "page oldest→newest",
        );
      }
      assert.deepEqual(fwd.flat().map(hex), expected);

      const back = await walk(repo, order, false, 37);
      for (const page of back) {
        assert.deepEqual(
          page.map(hex),
          [...page].sort(byOrder(order)).map(hex),
          "backward page oldest→newest",
        );
      }
      assert.deepEqual(
        back.reverse().flat().map(hex),
        expected,
        "backward pages rebuild the forward order",
      );
    });
  });
}

Deno.test("WakuRepo filters by content topics (merged) and pubsub topic", async () => {
  await withRepo(async (repo) => {
    const a = Array.from({ length: 300 }, (_, i) => rec(i, { ps: i % 2 ? PS : "/waku/2/rs/0/1" }));
    await ins(repo, a);
    const topics = ["/app/1/topic-0/proto", "/app/1/topic-2/proto"];
    const got = (await walk(repo, "timestamp", true, 25, topics)).flat();
    const want = a.filter((r) => topics.includes(r.message.contentTopic)).sort(
      byOrder("timestamp"),
    );
    assert.deepEqual(got.map(hex), want.map(hex));

    const page = await pageOf(repo, {
      order: "timestamp",
      contentTopics: topics,
      pubsubTopic: PS,
      forward: true,
      pageSize: 100,
    });
    const wantPs = want.filter((r) => r.pubsubTopic === PS);
    assert.deepEqual(page.messages.map(hex), wantPs.map(hex));
    assert.equal(page.next, undefined);

    const byPs = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [],
      pubsubTopic: PS,
      forward: false,
      pageSize: 5,
    });
    assert.deepEqual(
      byPs.messages.map(hex),
      a.filter((r) => r.pubsubTopic === PS).sort(byOrder("timestamp")).slice(-5).map(hex),
    );
  });
});

Deno.test("WakuRepo time range is inclusive on both ends and combines with a cursor", async () => {
  await withRepo(async (repo) => {
    const recs = Array.from({ length: 10 }, (_, i) => rec(i, { ts: T0 + BigInt(i) }));
    await ins(repo, recs);
    const page = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [],
      startTime: T0 + 2n,
      endTime: T0 + 6n,
      forward: true,
      pageSize: 3,
    });
    assert.deepEqual(page.messages.map((r) => r.message.timestamp), [T0 + 2n, T0 + 3n, T0 + 4n]);
    const next = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [],
      startTime: T0 + 2n,
      endTime: T0 + 6n,
      cursor: page.next,
      forward: true,
      pageSize: 3,
    });
    assert.deepEqual(next.messages.map((r) => r.message.timestamp), [T0 + 5n, T0 + 6n]);
    assert.equal(next.next, undefined);
  });
});

Deno.test("WakuRepo stores the same message once, within a batch and across batches", async () => {
  await withRepo(async (repo) => {
    const r = rec(1);
    assert.deepEqual(await ins(repo, [r, { ...r, receivedTime: r.receivedTime + 5n }]), [
      true,
      false,
    ]);
    assert.deepEqual(await ins(repo, [rec(2), { ...r, receivedTime: r.receivedTime + 9n }]), [
      true,
      false,
    ]);
    assert.equal(await repo.count(PS), 2);
    const all = await pageOf(repo, {
      order: "received",
      contentTopics: [],
      forward: true,
      pageSize: 100,
    });
    assert.equal(all.messages.length, 2);
    assert.deepEqual(await repo.locate(r.hash), {
      timestamp: r.message.timestamp,
      receivedTime: r.receivedTime,
    });
  });
});

Deno.test("WakuRepo keeps messages larger than a KV value in a chunked blob", async () => {
  await withRepo(async (repo, store) => {
    const payload = new Uint8Array(150 * 1024).map((_, i) => (i * 7919) & 255);
    const big = rec(7, { payload });
    assert.deepEqual(await ins(repo, [big, rec(8)]), [true, true]);
    const [got] = (await repo.getByHashes([big.hash])).map(decodeRecord);
    assert.deepEqual(got.message.payload, payload);
    const page = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [],
      forward: true,
      pageSize: 10,
    });
    assert.deepEqual(page.messages.find((m) => hex(m) === hex(big))?.message.payload, payload);
    // Retention removes the blob with the message.
    assert.equal(await repo.deleteOldest(PS, { keep: 0, maxDelete: 10 }), 2);
    const left = [];
    for await (const e of store.kv.list({ prefix: ["waku"] })) left.push(e.key);
    assert.deepEqual(left, [["waku", "n", PS], ["waku", "rt"]], "the counter and the head");
    assert.equal(await repo.count(PS), 0);
  });
});

Deno.test("WakuRepo deleteOldest keeps the newest by count and by age, and only on its topic", async () => {
  await withRepo(async (repo) => {
    const recs = Array.from(
      { length: 30 },
      (_, i) => rec(i, { ts: T0 + BigInt(i) * 1_000_000_000n }),
    );
    const other = Array.from({ length: 5 }, (_, i) => rec(100 + i, { ps: "/other", ts: T0 }));
    await ins(repo, [...recs, ...other]);
    assert.equal(await repo.deleteOldest(PS, { keep: 20, maxDelete: 1000 }), 10);
    assert.equal(await repo.count(PS), 20);
    const left = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [],
      pubsubTopic: PS,
      forward: true,
      pageSize: 100,
    });
    assert.deepEqual(left.messages.map(hex), recs.slice(10).map(hex));
    // Age: everything before T0+25s goes.
    assert.equal(
      await repo.deleteOldest(PS, { before: T0 + 25_000_000_000n, maxDelete: 1000 }),
      15,
    );
    assert.equal(await repo.count(PS), 5);
    assert.equal(await repo.count("/other"), 5);
    assert.equal(await repo.locate(recs[0].hash), undefined);
  });
});

Deno.test("WakuRepo getByHashes returns the stored ones in (timestamp, hash) order", async () => {
  await withRepo(async (repo) => {
    const recs = Array.from({ length: 15 }, (_, i) => rec(i, { ts: T0 - BigInt(i) }));
    await ins(repo, recs);
    const missing = new Uint8Array(32).fill(9);
    const got = (await repo.getByHashes([...recs.map((r) => r.hash), missing])).map(decodeRecord);
    assert.deepEqual(got.map(hex), [...recs].sort(byOrder("timestamp")).map(hex));
  });
});

Deno.test("WakuRepo commits batches of messages with the longest topics within KV's commit size", async () => {
  await withRepo(async (repo) => {
    const ps = "/" + "p".repeat(511);
    const recs = Array.from(
      { length: 250 },
      (_, i) => rec(i, { ps, ct: "/" + "c".repeat(500) + (i % 10) }),
    );
    assert.deepEqual(await ins(repo, recs), recs.map(() => true));
    assert.equal(await repo.count(ps), 250);
    const all = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [],
      pubsubTopic: ps,
      forward: true,
      pageSize: 100,
    });
    assert.equal(all.messages.length, 100);
  });
});

Deno.test("WakuRepo retention deletes long-topic messages in commits within KV's limits", async () => {
  await withRepo(async (repo, store) => {
    const ps = "/" + "p".repeat(511);
    const recs = Array.from(
      { length: 250 },
      (_, i) => rec(i, { ps, ct: "/" + "c".repeat(500) + (i % 10) }),
    );
    await ins(repo, recs);
    assert.equal(await repo.deleteOldest(ps, { keep: 0, maxDelete: 1000 }), 250);
    const left = [];
    for await (const e of store.kv.list({ prefix: ["waku"] })) left.push(e.key);
    assert.deepEqual(left, [["waku", "n", ps], ["waku", "rt"]], "the counter and the head");
  });
});

Deno.test("WakuRepo hash lookups are one read each, exact from another handle on the KV file at once", async () => {
  await withTwoStores(async (a, b) => {
    const writer = new WakuRepo(a);
    const recs = Array.from({ length: 30 }, (_, i) => rec(i));
    await ins(writer, recs);
    const want = (r: StoredMessage) => ({
      timestamp: r.message.timestamp,
      receivedTime: r.receivedTime,
    });
    // A second process (or this one after a restart) knows nothing in memory: it reads "h".
    let reads = 0;
    const other = new WakuRepo(countingReads(b, () => reads++));
    assert.deepEqual(await other.locateMany(recs.map((r) => r.hash)), recs.map(want));
    assert.equal(reads, 3, "30 hashes: three getMany calls of 10");
    reads = 0;
    assert.equal(await other.locate(new Uint8Array(32).fill(1)), undefined);
    assert.equal(reads, 1, "an unknown hash costs one read, never a scan");
  });
});

Deno.test("WakuRepo hash index never outlives a message retention deleted", async () => {
  await withRepo(async (repo, store) => {
    await ins(repo, Array.from({ length: 40 }, (_, i) => rec(i)));
    assert.equal(await repo.deleteOldest(PS, { keep: 10, maxDelete: 100 }), 30);
    let n = 0;
    for await (const _ of store.kv.list({ prefix: ["waku", "h"] })) n++;
    assert.equal(n, 10);
  });
});

Deno.test("WakuRepo receive order is commit order, across two handles on one KV file", async () => {
  await withTwoStores(async (a, b) => {
    const one = new WakuRepo(a), two = new WakuRepo(b);
    // The second commit's messages carry earlier receive times than the first's: they are
    // stored after it, so they sort after it.
    const early = [rec(1, { recv: T0 + 100n }), rec(2, { recv: T0 + 100n })];
    const late = [rec(3, { recv: T0 + 50n }), rec(4, { recv: T0 + 10n })];
    await ins(one, early);
    await ins(two, late);
    await ins(one, [rec(5, { recv: T0 })]);
    const times = [...early, ...late].map((r) => r.receivedTime);
    assert.deepEqual(times, [T0 + 100n, T0 + 101n, T0 + 102n, T0 + 103n]);
    const page = await pageOf(one, {
      order: "received",
      contentTopics: [],
      forward: true,
      pageSize: 10,
    });
    assert.deepEqual(
      page.messages.map((m) => new TextDecoder().decode(m.message.payload)),
      [1, 2, 3, 4, 5].map((i) => `message ${i}`),
    );
  });
});

Deno.test("WakuRepo: a forward reader of receive order, paging while two writers commit, sees each message once", async () => {
  await withTwoStores(async (a, b) => {
    const writers = [new WakuRepo(a), new WakuRepo(b)];
    const reader = new WakuRepo(a);
    const batches = 30;
    const seen: string[] = [];
    let cursor: Position | undefined;
    let writing = true;
    const write = Promise.all(writers.map(async (w, k) => {
      for (let i = 0; i < batches; i++) {
        // The second writer's clock runs behind the first's.
        const batch = Array.from(
          { length: 10 },
          (_, j) => rec(k * 100_000 + i * 10 + j, { recv: T0 - BigInt(k) * 1_000_000n }),
        );
        await ins(w, batch);
      }
    })).finally(() => writing = false);
    for (let drained = false; !drained;) {
      const wasWriting = writing;
      const page = await pageOf(reader, {
        order: "received",
        contentTopics: [],
        forward: true,
        cursor,
        pageSize: 37,
      });
      for (const m of page.messages) seen.push(m.hash.toHex());
      const last = page.messages.at(-1);
      if (last) cursor = { time: last.receivedTime, hash: last.hash };
      drained = !wasWriting && page.messages.length === 0;
    }
    await write;
    assert.equal(new Set(seen).size, seen.length, "no message twice");
    assert.equal(seen.length, 2 * batches * 10, "every message");
  });
});

Deno.test("WakuRepo keeps a payload too big for one commit in the shared blob store, referenced", async () => {
  await withRepo(async (repo, store) => {
    // A clock the test moves: collection counts its grace period from the drop.
    let now = Date.now();
    const blobs = new BlobStore(store, { now: () => now });
    const shared = new WakuRepo(store, blobs);
    const payload = new Uint8Array(600 * 1024).map((_, i) => (i * 31) & 255);
    const big = rec(3, { payload });
    assert.deepEqual(await ins(shared, [big, rec(4)]), [true, true]);
    let puts = 0;
    const put = blobs.put.bind(blobs);
    blobs.put = (...args) => (puts++, put(...args));
    assert.deepEqual(await ins(shared, [big]), [false], "the same message again is a duplicate");
    assert.equal(puts, 0, "and its payload is not uploaded again");
    const [got] = (await repo.getByHashes([big.hash])).map(decodeRecord);
    assert.deepEqual(got.message.payload, payload);
    const sha = new Uint8Array(await crypto.subtle.digest("SHA-256", payload));
    assert.equal(await blobs.references(sha), 1, "one reference, not one per copy or attempt");
    // Retention drops the reference; collection then deletes the blob.
    assert.equal(await shared.deleteOldest(PS, { keep: 0, maxDelete: 10 }), 2);
    assert.equal(await blobs.references(sha), 0);
    now += 1000;
    await blobs.collect({ graceMs: 500 });
    assert.equal(await blobs.stat(sha), null);
  });
});

Deno.test("WakuRepo: a blob collected between its put and the message's commit is put again, never pointed at", async () => {
  await withRepo(async (_repo, store) => {
    let now = Date.now();
    const blobs = new BlobStore(store, { now: () => now });
    // The first commit of the repository (the message's) waits for a collection of every
    // unreferenced blob first, a second after: the one just put for it included.
    let first = true;
    const repo = new WakuRepo(
      hookedStore(store, {
        async beforeCommit() {
          if (!first) return;
          first = false;
          now += 1000;
          const stats = await blobs.collect({ graceMs: 500 });
          assert.equal(stats.blobs, 1, "the payload's blob was collected");
        },
      }),
      blobs,
    );
    const payload = new Uint8Array(500 * 1024).fill(5);
    const big = rec(9, { payload });
    assert.deepEqual(await ins(repo, [big]), [true]);
    const [got] = (await repo.getByHashes([big.hash])).map(decodeRecord);
    assert.deepEqual(got.message.payload, payload);
    const sha = new Uint8Array(await crypto.subtle.digest("SHA-256", payload));
    assert.equal(await blobs.references(sha), 1);
    await blobs.collect({ graceMs: 0 });
    assert.notEqual(await blobs.stat(sha), null, "a referenced blob stays");
  });
});

Deno.test("WakuRepo keeps a duplicate's first place, and forgets what retention deletes", async () => {
  await withRepo(async (repo) => {
    const first = rec(1, { recv: T0 + 5n });
    assert.deepEqual(await ins(repo, [first]), [true]);
    // The same message again, received later: stored once, located where it was first put.
    assert.deepEqual(await ins(repo, [{ ...first, receivedTime: T0 + 99n }]), [false]);
    assert.deepEqual(await repo.locate(first.hash), {
      timestamp: first.message.timestamp,
      receivedTime: T0 + 5n,
    });
    assert.equal(await repo.deleteOldest(PS, { keep: 0, maxDelete: 10 }), 1);
    assert.equal(await repo.locate(first.hash), undefined);
  });
});

/**
 * A view of the store whose first read of a blob's chunks first lets `between` run: what
 * retention does when it deletes a message after a page's index scan and before its payload
 * is read.
 */
function pausingAtBlobRead(store: Store, between: () => Promise<unknown>): Store {
  let done = false;
  const kv = new Proxy(store.kv, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (prop !== "list") return typeof v === "function" ? v.bind(target) : v;
      return (sel: Deno.KvListSelector, opts?: Deno.KvListOptions) => {
        const blob = "prefix" in sel && sel.prefix[1] === "b";
        if (!blob || done) return target.list(sel, opts);
        done = true;
        const inner = (async function* () {
          await between();
          yield* target.list(sel, opts);
        })();
        return inner;
      };
    },
  });
  return { ...store, kv };
}

Deno.test("WakuRepo reads leave out a message retention deleted between the index scan and its payload", async () => {
  await withRepo(async (repo, store) => {
    const big = (i: number) =>
      rec(i, {
        ts: T0 + BigInt(i),
        recv: T0 + BigInt(i),
        payload: new Uint8Array(70_000).fill(i + 1),
      });
    const reads: [string, (r: WakuRepo) => Promise<Uint8Array[]>][] = [
      [
        "store v3 page",
        async (r) =>
          (await r.page({ order: "timestamp", contentTopics: [], forward: true, pageSize: 10 }))
            .records,
      ],
      [
        "beta2 page",
        async (r) =>
          (await r.page({ order: "received", contentTopics: [], forward: true, pageSize: 10 }))
            .records,
      ],
      ["hashes= lookup", (r) => r.getByHashes([0, 1, 2, 3].map((i) => big(i).hash))],
    ];
    for (const [name, read] of reads) {
      await ins(repo, [0, 1, 2, 3].map(big));
      let deleted = 0;
      const racing = new WakuRepo(
        pausingAtBlobRead(store, async () => {
          deleted = await repo.deleteOldest(PS, { keep: 3, maxDelete: 10 });
        }),
      );
      const got = (await read(racing)).map(decodeRecord);
      // The first payload read is the oldest message's, which retention deletes meanwhile.
      assert.equal(deleted, 1, name);
      assert.deepEqual(got.map((m) => m.message.timestamp), [T0 + 1n, T0 + 2n, T0 + 3n], name);
      assert.deepEqual(got[0].message.payload, big(1).message.payload, name);
      await repo.deleteOldest(PS, { keep: 0, maxDelete: 10 });
    }
  });
});

Deno.test("WakuRepo: a cursor past the time window is an empty page; a topic named twice counts once", async () => {
  await withRepo(async (repo) => {
    const recs = Array.from(
      { length: 10 },
      (_, i) => rec(i, { ts: T0 + BigInt(i), recv: T0 + BigInt(i), ct: "/a" }),
    );
    await ins(repo, recs);
    const at = (i: number) => ({ time: T0 + BigInt(i), hash: recs[i].hash });
    for (const order of ["timestamp", "received"] as const) {
      const fwd = await repo.page({
        order,
        contentTopics: [],
        forward: true,
        pageSize: 5,
        cursor: at(8),
        endTime: T0 + 3n,
      });
      assert.deepEqual(fwd.records, [], `${order}: forward, cursor after endTime`);
      const back = await repo.page({
        order,
        contentTopics: [],
        forward: false,
        pageSize: 5,
        cursor: at(1),
        startTime: T0 + 5n,
      });
      assert.deepEqual(back.records, [], `${order}: backward, cursor before startTime`);
      const twice = await pageOf(repo, {
        order,
        contentTopics: ["/a", "/a"],
        forward: true,
        pageSize: 100,
      });
      assert.equal(twice.messages.length, 10, `${order}: each message once`);
    }
  });
});

Deno.test("WakuRepo: an index entry under another topic's tag (a tag collision) is told apart by the record", async () => {
  await withRepo(async (repo, store) => {
    const [ctA, ctB] = ["/app/1/a/proto", "/app/1/b/proto"];
    const [psA, psB] = [PS, "/waku/2/rs/0/9"];
    const b = rec(1, { ct: ctB, ps: psB });
    const a = rec(2, { ct: ctA, ps: psA });
    await ins(repo, [a, b]);
    // What a collision of tags would look like: B's message listed under A's tags too.
    const ts = b.message.timestamp;
    await store.kv.set(["waku", "tc", topicTag(ctA), ts, b.hash], topicTag(psA));
    await store.kv.set(["waku", "tp", topicTag(psA), ts, b.hash], new Uint8Array(0));
    const byContent = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [ctA],
      forward: true,
      pageSize: 10,
    });
    assert.deepEqual(byContent.messages.map(hex), [hex(a)]);
    const byBoth = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [ctA],
      pubsubTopic: psA,
      forward: true,
      pageSize: 10,
    });
    assert.deepEqual(byBoth.messages.map(hex), [hex(a)]);
    const byPubsub = await pageOf(repo, {
      order: "timestamp",
      contentTopics: [],
      pubsubTopic: psA,
      forward: true,
      pageSize: 10,
    });
    assert.deepEqual(byPubsub.messages.map(hex), [hex(a)]);
    // Retention of A's topic deletes A's message, never B's.
    assert.equal(await repo.deleteOldest(psA, { keep: 0, maxDelete: 10 }), 1);
    assert.deepEqual((await repo.getByHashes([a.hash, b.hash])).length, 1);
    assert.notEqual(await repo.locate(b.hash), undefined);
  });
});
