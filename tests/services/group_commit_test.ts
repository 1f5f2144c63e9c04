import assert from "node:assert/strict";
import { GroupCommitter } from "../../services/group_commit.ts";

Deno.test("GroupCommitter batches concurrent submits and answers only after the flush", async () => {
  const batches: number[][] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => release = r);
  const gc = new GroupCommitter<number, number>(async (items) => {
    batches.push(items);
    await gate;
    return items.map((i) => i * 10);
  }, 100);
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
    return Promise.resolve(items);
  }, 4);
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
