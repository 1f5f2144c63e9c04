import assert from "node:assert/strict";
import { BusyError } from "../../lib/errors.ts";
import { GroupCommitter, type Outcomes } from "../../services/group_commit.ts";

/** Every item fulfilled with `f(item)`. */
const all = <T, R>(items: T[], f: (t: T) => R): Outcomes<R> =>
  items.map((i) => ({ status: "fulfilled", value: f(i) }));

Deno.test("GroupCommitter batches concurrent submits and answers only after the flush", async () => {
  const batches: number[][] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => release = r);
  const gc = new GroupCommitter<number, number>(async (items) => {
    batches.push(items);
    await gate;
    return all(items, (i) => i * 10);
  }, { maxBatch: 100 });
  let answered = 0;
  const first = Array.from({ length: 5 }, (_, i) => gc.submit(i).then((r) => (answered++, r)));
  await new Promise((r) => setTimeout(r, 10));
  // The first batch is in flight; these queue for the next.
  const second = Array.from(
    { length: 7 },
    (_, i) => gc.submit(100 + i).then((r) => (answered++, r)),
  );
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(answered, 0, "nothing answered before its commit finished");
  assert.equal(gc.pending, 7);
  release();
  gate = Promise.resolve();
  assert.deepEqual(await Promise.all(first), [0, 10, 20, 30, 40]);
  assert.deepEqual(await Promise.all(second), [1000, 1010, 1020, 1030, 1040, 1050, 1060]);
  assert.deepEqual(batches.map((b) => b.length), [5, 7]);
});

Deno.test("GroupCommitter splits at maxBatch and rejects every item of a failed batch", async () => {
  const sizes: number[] = [];
  const gc = new GroupCommitter<number, number>((items) => {
    sizes.push(items.length);
    if (items.includes(13)) return Promise.reject(new Error("disk full"));
    return Promise.resolve(all(items, (i) => i));
  }, { maxBatch: 4 });
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => gc.submit(i + 10)));
  assert.deepEqual(sizes, [4, 4, 2]);
  assert.deepEqual(results.map((r) => r.status), [
    "rejected",
    "rejected",
    "rejected",
    "rejected",
    "fulfilled",
    "fulfilled",
    "fulfilled",
    "fulfilled",
    "fulfilled",
    "fulfilled",
  ]);
  // It keeps working after a failure.
  assert.equal(await gc.submit(1), 1);
});

Deno.test("GroupCommitter with two in flight commits a second batch while the first is written", async () => {
  const started: number[][] = [];
  const gates: (() => void)[] = [];
  const gc = new GroupCommitter<number, number>(
    async (items) => {
      started.push(items);
      await new Promise<void>((r) => gates.push(r));
      return all(items, (i) => i);
    },
    { maxBatch: 100, maxInFlight: 2 },
  );
  let answered = 0;
  const a = [1, 2].map((i) => gc.submit(i).then((r) => (answered++, r)));
  await new Promise((r) => setTimeout(r, 10));
  const b = [3, 4, 5].map((i) => gc.submit(i).then((r) => (answered++, r)));
  await new Promise((r) => setTimeout(r, 10));
  const c = [6].map((i) => gc.submit(i).then((r) => (answered++, r)));
  await new Promise((r) => setTimeout(r, 10));
  // Two batches are being written at once; the third waits for one of them.
  assert.deepEqual(started, [[1, 2], [3, 4, 5]]);
  assert.equal(gc.pending, 1);
  assert.equal(answered, 0, "nothing answered before its commit finished");
  gates[1](); // the second batch finishes first
  assert.deepEqual(await Promise.all(b), [3, 4, 5]);
  assert.equal(answered, 3);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(started, [[1, 2], [3, 4, 5], [6]]);
  gates[0]();
  gates[2]();
  assert.deepEqual(await Promise.all([...a, ...c]), [1, 2, 6]);
});

Deno.test("GroupCommitter answers each item by its own outcome, and refuses past its queue bound", async () => {
  let gate!: () => void;
  const held = new Promise<void>((r) => gate = r);
  const gc = new GroupCommitter<number, number>(async (items) => {
    await held;
    // A batch written in two commits whose second failed: the first half is stored.
    return items.map((i, k) =>
      k < items.length / 2
        ? { status: "fulfilled", value: i }
        : { status: "rejected", reason: new Error(`lost ${i}`) }
    );
  }, { maxBatch: 100, maxQueue: 4 });
  const first = gc.submit(0); // in flight from the next microtask on
  await Promise.resolve();
  const queued = [1, 2, 3, 4].map((i) => gc.submit(i));
  await assert.rejects(gc.submit(5), BusyError);
  gate();
  assert.equal(await first, 0, "a batch of one: the item is the first half");
  const results = await Promise.allSettled(queued);
  assert.deepEqual(results.map((r) => r.status), [
    "fulfilled",
    "fulfilled",
    "rejected",
    "rejected",
  ]);
  assert.match(String((results[3] as PromiseRejectedResult).reason), /lost 4/);
});
