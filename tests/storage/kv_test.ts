import assert from "node:assert/strict";
import { chunkForCommit, keySize, type KvLimits } from "../../storage/kv.ts";

const limits: KvLimits = { maxChecks: 3, maxMutations: 10, maxBytes: 1000, maxKeyBytes: 100 };
const cost = (m: number, c: number, b: number, k: number) => () => ({
  mutations: m,
  checks: c,
  bytes: b,
  keyBytes: k,
});

Deno.test("chunkForCommit splits at whichever limit is reached first", () => {
  const items = Array.from({ length: 7 }, (_, i) => i);
  assert.deepEqual(
    chunkForCommit(items, limits, cost(1, 1, 1, 1)).map((r) => r.length),
    [3, 3, 1],
    "checks",
  );
  assert.deepEqual(chunkForCommit(items, limits, cost(4, 0, 1, 1)).map((r) => r.length), [
    2,
    2,
    2,
    1,
  ], "mutations");
  assert.deepEqual(chunkForCommit(items, limits, cost(1, 0, 400, 1)).map((r) => r.length), [
    2,
    2,
    2,
    1,
  ], "bytes");
  assert.deepEqual(chunkForCommit(items, limits, cost(1, 0, 1, 40)).map((r) => r.length), [
    2,
    2,
    2,
    1,
  ], "key bytes");
  assert.deepEqual(
    chunkForCommit([1], limits, cost(50, 0, 1, 1)),
    [[1]],
    "an oversized item still gets a run",
  );
  assert.deepEqual(chunkForCommit([], limits, cost(1, 1, 1, 1)), []);
});

Deno.test("chunkForCommit lets an item's cost depend on its run", () => {
  // The first item of a run carries a shared counter's extra mutation.
  const runs = chunkForCommit([1, 2, 3, 4, 5], limits, (_i, run) => ({
    mutations: 3 + (run.length === 0 ? 1 : 0),
    checks: 0,
    bytes: 1,
    keyBytes: 1,
  }));
  assert.deepEqual(runs.map((r) => r.length), [3, 2]);
});

Deno.test("keySize bounds the encoded size of keys", () => {
  assert.equal(keySize(["waku", "t", 5n, new Uint8Array(32)]), 6 + 3 + 10 + 34);
  assert.equal(keySize(["ü"]), 4);
});
