/**
 * The polling subscriptions in KV: kinds apart, counted exactly (also when
 * two processes change them at once), bounded, and split into commits that
 * fit KV's limits.
 */
import assert from "node:assert/strict";
import { ConflictError } from "../../lib/errors.ts";
import { WakuSubscriptionRepo } from "../../storage/waku_subscriptions.ts";
import { withTwoStores } from "./two_stores.ts";

Deno.test("add, list, exists, remove and clear, each kind apart", async () => {
  await withTwoStores(async (store) => {
    const repo = new WakuSubscriptionRepo(store);
    assert.equal(await repo.add("relay", [["/waku/2/rs/0/0"], ["/waku/2/rs/0/1"]], 10), 2);
    assert.equal(await repo.add("relay", [["/waku/2/rs/0/0"]], 10), 0, "present stays");
    assert.equal(await repo.add("filter", [["/c", "/p"], ["/c", "/q"], ["/c", "/p"]], 10), 2);
    assert.equal(await repo.count("relay"), 2);
    assert.equal(await repo.count("filter"), 2);
    assert.equal(await repo.count("auto"), 0);
    assert.deepEqual(await repo.list("filter"), [["/c", "/p"], ["/c", "/q"]]);
    assert.equal(await repo.exists("relay", ["/waku/2/rs/0/1"]), true);
    assert.equal(await repo.exists("relay", ["/waku/2/rs/0/2"]), false);
    assert.equal(await repo.exists("filter", ["/c"]), true, "by content topic alone");
    assert.equal(await repo.exists("filter", ["/d"]), false);
    assert.equal(await repo.exists("filter", []), true, "any at all");
    assert.equal(await repo.exists("auto", []), false);
    assert.equal(await repo.remove("filter", [["/c", "/p"], ["/x", "/p"]]), 1, "absent is skipped");
    assert.equal(await repo.count("filter"), 1);
    assert.equal(await repo.clear("relay"), 2);
    assert.equal(await repo.count("relay"), 0);
    assert.deepEqual(await repo.list("relay"), []);
    assert.deepEqual(await repo.list("filter"), [["/c", "/q"]]);
  });
});

Deno.test("a kind holds at most its maximum; a request past it adds nothing", async () => {
  await withTwoStores(async (store) => {
    const repo = new WakuSubscriptionRepo(store);
    await repo.add("auto", [["/a", "/p"], ["/b", "/p"]], 3);
    await assert.rejects(
      () => repo.add("auto", [["/c", "/p"], ["/d", "/p"]], 3),
      (e) => e instanceof ConflictError && /At most 3 relay content topics/.test(e.message),
    );
    assert.equal(await repo.count("auto"), 2);
    assert.equal(await repo.add("auto", [["/a", "/p"], ["/c", "/p"]], 3), 1, "room for one");
  });
});

Deno.test("many long topics are split into commits within KV's limits", async () => {
  await withTwoStores(async (store) => {
    const repo = new WakuSubscriptionRepo(store);
    // 600 keys of ~1 KB: about 600 KB of keys, far past what one commit may name.
    const subs = Array.from(
      { length: 600 },
      (_, i) => [`/c${i}/${"x".repeat(500)}`, "y".repeat(500)],
    );
    assert.equal(await repo.add("filter", subs, 1000), 600);
    assert.equal(await repo.count("filter"), 600);
    assert.equal((await repo.list("filter")).length, 600);
    assert.equal(await repo.clear("filter"), 600);
    assert.equal(await repo.count("filter"), 0);
  });
});

Deno.test("two processes changing subscriptions at once keep the count exact", async () => {
  await withTwoStores(async (a, b) => {
    const [ra, rb] = [new WakuSubscriptionRepo(a), new WakuSubscriptionRepo(b)];
    const topics = Array.from({ length: 40 }, (_, i) => [`/waku/2/rs/0/${i}`]);
    await Promise.all(topics.flatMap((t, i) => [
      ra.add("relay", [t], 1000),
      rb.add("relay", [t, topics[(i + 1) % 40]], 1000),
      i % 3 === 0 ? rb.remove("relay", [t]) : Promise.resolve(0),
    ]));
    const listed = (await ra.list("relay")).length;
    assert.equal(await rb.count("relay"), listed);
  });
});
