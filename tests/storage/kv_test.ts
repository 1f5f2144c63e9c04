import assert from "node:assert/strict";
import {
  addCosts,
  checkCost,
  chunkForCommit,
  type CommitCost,
  deleteCost,
  keySize,
  type KvLimits,
  setCost,
  sumCost,
} from "../../storage/kv.ts";

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

Deno.test("keySize is the size of KV's key encoding", () => {
  assert.equal(keySize(["waku", "t", 5n, new Uint8Array(32)]), 6 + 3 + 2 + 66);
  assert.equal(keySize(["ü"]), 4);
  assert.equal(keySize(["a\0b"]), 6, "a NUL is escaped as two bytes");
  assert.equal(
    keySize([0n, 255n, 256n, -256n, (1n << 64n) - 1n, 1n << 64n]),
    1 + 2 + 3 + 3 + 9 + 11,
  );
  assert.equal(keySize([1.5, true, false]), 11);
});

// Key parts of every kind, with the escapes, so a wrong size shows at the limit.
const oddParts = (i: number): Deno.KvKey => [
  "fill\0",
  new Uint8Array([0, 1, 0, i & 255]),
  BigInt(i) * (1n << 70n),
  -BigInt(i + 1),
  i + 0.5,
  true,
];

/** Sets that bring `base` to exactly `target` total mutation bytes (values ≤ 60,000). */
function fillBytes(target: number, base: CommitCost, extra = 0): [Deno.KvKey, Uint8Array][] {
  const sets: [Deno.KvKey, Uint8Array][] = [];
  let left = target - base.bytes;
  for (let i = 0; left > 0; i++) {
    const key = oddParts(i);
    const overhead = setCost(key, 0).bytes;
    const size = Math.min(60_000, left - overhead);
    assert.ok(size >= 0);
    sets.push([key, new Uint8Array(size)]);
    left -= overhead + size;
  }
  const last = sets[sets.length - 1];
  last[1] = new Uint8Array(last[1].length + extra);
  return sets;
}

async function tryCommit(
  kv: Deno.Kv,
  op: (a: Deno.AtomicOperation) => void,
): Promise<string> {
  const a = kv.atomic();
  op(a);
  try {
    return (await a.commit()).ok ? "ok" : "conflict";
  } catch (e) {
    return (e as Error).message;
  }
}

Deno.test("the commit cost model is what KV counts: at each limit it commits, a byte over it does not", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    // Total mutation size: a check, a delete and a sum count toward it too.
    const check: Deno.KvKey = ["check", new Uint8Array([0, 0])];
    const del: Deno.KvKey = ["gone\0", 7n];
    const sum: Deno.KvKey = ["count"];
    const base = addCosts(checkCost(check), deleteCost(del), sumCost(sum));
    for (const extra of [0, 1]) {
      const sets = fillBytes(800 * 1024, base, extra);
      const total = addCosts(base, ...sets.map(([k, v]) => setCost(k, v.length)));
      assert.equal(total.bytes, 800 * 1024 + extra);
      const r = await tryCommit(kv, (a) => {
        a.check({ key: check, versionstamp: null });
        a.delete(del);
        a.sum(sum, 1n);
        for (const [k, v] of sets) a.set(k, v);
      });
      assert.match(r, extra ? /Total mutation size too large/ : /^ok$/);
    }
    // Total key size: only set and sum keys count; checks and deletes don't.
    for (const extra of [0, 1]) {
      const keys: Deno.KvKey[] = [];
      let left = 80 * 1024 + extra;
      for (let i = 0; left > 0; i++) {
        const overhead = keySize(["k", i, ""]);
        const pad = Math.min(2000, left - overhead);
        const key: Deno.KvKey = ["k", i, "\0".repeat(pad >> 1) + "x".repeat(pad & 1)];
        keys.push(key);
        left -= keySize(key);
      }
      assert.equal(left, 0);
      const r = await tryCommit(kv, (a) => {
        for (let i = 0; i < 20; i++) {
          a.check({ key: ["c", "x".repeat(2000), i], versionstamp: null });
        }
        for (let i = 0; i < 20; i++) a.delete(["d", "x".repeat(2000), i]);
        for (const k of keys) a.set(k, new Uint8Array(0));
      });
      assert.match(r, extra ? /Total key size too large/ : /^ok$/);
    }
  } finally {
    kv.close();
  }
});
