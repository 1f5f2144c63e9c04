import assert from "node:assert/strict";
import type { Store } from "../../storage/kv.ts";
import { LiveFeed, type LiveFeedOptions } from "../../storage/live_feed.ts";
import { withTwoStores } from "./two_stores.ts";

async function readAll(feed: LiveFeed, after = 0n, skip?: string) {
  const records: string[] = [];
  let missed = 0;
  for (let last = after;;) {
    const got = await feed.read(last, 7, skip);
    for (const e of got.entries) records.push(...e.records);
    missed += got.missed;
    last = got.last;
    if (!got.more) return { records, missed, last };
  }
}

async function countKeys(store: Store): Promise<number> {
  let n = 0;
  for await (const _ of store.kv.list({ prefix: [] })) n++;
  return n;
}

Deno.test("LiveFeed: another handle reads appends in order, from the head it started at", async () => {
  await withTwoStores(async (a, b) => {
    const fa = new LiveFeed(a);
    const fb = new LiveFeed(b);
    assert.equal(await fb.head(), 0n);
    await fa.append("a", ["before"]);
    const start = await fb.head();
    await fa.append("a", ["one", "two"]);
    await fa.append("a", ["three"]);
    const got = await readAll(fb, start);
    assert.deepEqual(got.records, ["one", "two", "three"]);
    assert.equal(got.missed, 0);
    assert.equal(got.last, await fa.head());
    assert.deepEqual((await fb.read(got.last, 10)).entries, [], "nothing after the last");
  });
});

Deno.test("LiveFeed: a reader steps over its own origin's entries", async () => {
  await withTwoStores(async (a, b) => {
    const feed = new LiveFeed(a);
    await feed.append("me", ["mine 1"]);
    await new LiveFeed(b).append("other", ["theirs"]);
    await feed.append("me", ["mine 2"]);
    const got = await feed.read(0n, 10, "me");
    assert.deepEqual(got.entries.map((e) => [e.origin, e.records]), [["other", ["theirs"]]]);
    assert.equal(got.last, 3n, "own entries still advance the position");
  });
});

Deno.test("LiveFeed: small records share entries; a read stops at its limit", async () => {
  await withTwoStores(async (a) => {
    const feed = new LiveFeed(a);
    const records = Array.from({ length: 5000 }, (_, i) => `{"n":${i},"pad":"${"x".repeat(100)}"}`);
    const { head } = await feed.append("a", records);
    assert.ok(head < 20n, `5000 small records took ${head} entries`);
    const first = await feed.read(0n, 2);
    assert.equal(first.entries.length, 2);
    assert.equal(first.more, true);
    assert.deepEqual((await readAll(feed)).records, records);
  });
});

Deno.test("LiveFeed: records larger than a KV value (and than a commit) round-trip", async () => {
  await withTwoStores(async (a, b) => {
    const feed = new LiveFeed(a);
    const big = `{"payload":"${"é".repeat(100_000)}"}`; // ~200 KB of UTF-8: chunks in the entry's commit
    const huge = "z".repeat(1_500_000); // beyond one commit: chunks written before it
    await feed.append("a", ["small", big, "small 2", huge, "last"]);
    const got = await readAll(new LiveFeed(b));
    assert.deepEqual(got.records, ["small", big, "small 2", huge, "last"]);
  });
});

Deno.test("LiveFeed: trim keeps the newest entries; a reader behind counts what it missed", async () => {
  await withTwoStores(async (a, b) => {
    const opts: LiveFeedOptions = { keepEntries: 5, trimEvery: 4 };
    const feed = new LiveFeed(a, opts);
    const due: boolean[] = [];
    for (let i = 1; i <= 20; i++) {
      const r = await feed.append("a", i % 3 === 0 ? ["b".repeat(70_000)] : [`r${i}`]);
      due.push(r.trimDue);
    }
    assert.deepEqual(
      due.flatMap((d, i) => d ? [i + 1] : []),
      [4, 8, 12, 16, 20],
      "due when crossing a multiple of trimEvery",
    );
    assert.equal(await feed.trim(), 15);
    assert.equal(await feed.trim(), 0, "a second trim finds nothing");
    const got = await readAll(new LiveFeed(b, opts), 2n);
    assert.equal(got.missed, 13, "entries 3..15 were trimmed");
    assert.deepEqual(got.records, ["r16", "r17", "b".repeat(70_000), "r19", "r20"]);
    // 5 entries, one of them a 2-chunk blob, and the head: trimmed blobs left no chunks.
    assert.equal(await countKeys(a), 5 + 2 + 1);
  });
});

Deno.test("LiveFeed: concurrent appenders on two handles get one gapless order", async () => {
  await withTwoStores(async (a, b) => {
    const fa = new LiveFeed(a);
    const fb = new LiveFeed(b);
    const n = 60;
    await Promise.all([
      (async () => {
        for (let i = 0; i < n; i++) await fa.append("a", [`a${i}`]);
      })(),
      (async () => {
        for (let i = 0; i < n; i++) await fb.append("b", [`b${i}`]);
      })(),
    ]);
    const got = await readAll(fa);
    assert.equal(got.missed, 0);
    assert.equal(got.last, BigInt(2 * n));
    assert.deepEqual(
      got.records.filter((r) => r[0] === "a"),
      Array.from({ length: n }, (_, i) => `a${i}`),
    );
    assert.deepEqual(
      got.records.filter((r) => r[0] === "b"),
      Array.from({ length: n }, (_, i) => `b${i}`),
    );
  });
});
