import assert from "node:assert/strict";
import { BusyError, ConflictError, TooLargeError } from "../../lib/errors.ts";
import { MAX_VALUE_BYTES } from "../../storage/kv.ts";
import { formatKey, KEEP, SKIP, update, updateMany } from "../../storage/kv_update.ts";
import { withTwoStores } from "./two_stores.ts";

/** An IPNS-like record: an 8-byte big-endian sequence, then the payload. */
function record(seq: number, payload = `value ${seq}`): Uint8Array {
  const text = new TextEncoder().encode(payload);
  const out = new Uint8Array(8 + text.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(seq));
  out.set(text, 8);
  return out;
}
const sequenceOf = (rec: Uint8Array) =>
  Number(new DataView(rec.buffer, rec.byteOffset).getBigUint64(0));

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

Deno.test("update writes, skips and deletes, and returns what the key holds", async () => {
  await withTwoStores(async (store) => {
    const key = ["t", "a"];
    const first = await update<Uint8Array>(store, key, (cur) => {
      assert.equal(cur, undefined);
      return record(1);
    });
    assert.equal(first.written, true);
    assert.deepEqual(first.value, record(1));
    const entry = await store.kv.get(key);
    assert.equal(entry.versionstamp, first.versionstamp);
    assert.deepEqual(entry.value, record(1), "a Uint8Array is stored as is");

    const skipped = await update<Uint8Array>(store, key, () => SKIP);
    assert.deepEqual(skipped, {
      value: record(1),
      versionstamp: first.versionstamp,
      written: false,
    });

    const deleted = await update<Uint8Array>(store, key, () => undefined);
    assert.deepEqual(deleted, { value: undefined, versionstamp: null, written: true });
    assert.equal((await store.kv.get(key)).versionstamp, null);
  });
});

Deno.test("update takes any KV value, and an error of the function writes nothing", async () => {
  await withTwoStores(async (store) => {
    const key = ["peer", "p1"];
    await update<{ epoch: number; acked: string[] }>(store, key, () => ({ epoch: 1, acked: [] }));
    await assert.rejects(
      update<{ epoch: number; acked: string[] }>(store, key, (cur) => {
        if (cur!.epoch >= 1) throw new ConflictError(`Epoch "${cur!.epoch}" is not newer`);
        return cur;
      }),
      ConflictError,
    );
    const r = await update<{ epoch: number; acked: string[] }>(store, key, async (cur) => {
      await Promise.resolve(); // the function may be async (e.g. verify a signature)
      return { epoch: cur!.epoch + 1, acked: [...cur!.acked, "m1"] };
    });
    assert.deepEqual((await store.kv.get(key)).value, { epoch: 2, acked: ["m1"] });
    assert.deepEqual(r.value, { epoch: 2, acked: ["m1"] });
  });
});

Deno.test("update commits the caller's extra mutations with its own", async () => {
  await withTwoStores(async (store) => {
    const name = "k51qzi5uqu5d";
    const put = (seq: number) =>
      update<Uint8Array>(
        store,
        ["ipns", name],
        (cur) => cur && sequenceOf(cur) >= seq ? SKIP : record(seq),
        {
          mutate(m, next, current) {
            // An index by sequence and a count of writes, in the same commit.
            if (current.value) m.delete(["ipns-seq", sequenceOf(current.value), name]);
            m.set(["ipns-seq", sequenceOf(next!), name], new Uint8Array());
            m.sum(["ipns-writes"], 1n);
          },
        },
      );
    await put(3);
    await put(7);
    await put(5); // skipped: no extra mutations either
    const index = await Array.fromAsync(store.kv.list({ prefix: ["ipns-seq"] }));
    assert.deepEqual(index.map((e) => e.key), [["ipns-seq", 7, name]]);
    assert.equal((await store.kv.get<Deno.KvU64>(["ipns-writes"])).value?.value, 2n);
  });
});

Deno.test("N concurrent increments from two processes end at exactly N", async () => {
  await withTwoStores(async (a, b) => {
    const N = 60;
    const key = ["refcount", "blob-1"];
    const results = await Promise.all(
      Array.from(
        { length: N },
        (_, i) => update<number>(i % 2 ? a : b, key, (n = 0) => n + 1, { maxAttempts: 100 }),
      ),
    );
    assert.equal((await a.kv.get(key)).value, N);
    // Each increment saw a distinct count: none was lost or applied twice.
    assert.deepEqual(
      results.map((r) => r.value).sort((x, y) => x! - y!),
      Array.from({ length: N }, (_, i) => i + 1),
    );
  });
});

Deno.test("highest sequence wins among concurrent writers", async () => {
  await withTwoStores(async (a, b) => {
    const key = ["ipns", "name"];
    const seqs = shuffled(Array.from({ length: 40 }, (_, i) => i + 1));
    const results = await Promise.all(seqs.map((seq, i) =>
      update<Uint8Array>(
        i % 2 ? a : b,
        key,
        (cur) => cur && sequenceOf(cur) >= seq ? SKIP : record(seq),
        { maxAttempts: 100 },
      )
    ));
    const stored = (await b.kv.get<Uint8Array>(key)).value!;
    assert.equal(sequenceOf(stored), 40);
    assert.deepEqual(stored, record(40));
    // A writer that did not write was shown a record at least as high as its own.
    results.forEach((r, i) => {
      if (!r.written) assert.ok(sequenceOf(r.value!) >= seqs[i]);
    });
    assert.ok(results[seqs.indexOf(40)].written, "the highest was written");
  });
});

Deno.test("updateMany keeps an invariant over several keys under concurrency", async () => {
  await withTwoStores(async (a, b) => {
    const keys = [["acct", "x"], ["acct", "y"]] as const;
    await updateMany<[number, number]>(a, keys, () => [50, 50]);
    // Random transfers between x and y from both processes; the sum never changes.
    await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) =>
          updateMany<[number, number]>(i % 2 ? a : b, keys, ([x = 0, y = 0]) => {
            const amount = (i % 7) - 3;
            return x - amount < 0 || y + amount < 0 ? SKIP : [x - amount, y + amount];
          }, { maxAttempts: 100 }),
      ),
    );
    const [x, y] = await a.kv.getMany<[number, number]>([...keys]);
    assert.equal(x.value! + y.value!, 100);
  });
});

Deno.test("updateMany writes a record, its index entry and a counter together", async () => {
  await withTwoStores(async (store) => {
    type Counter = Deno.KvU64;
    const put = (id: string, owner: string) =>
      updateMany<[Uint8Array, Uint8Array, Counter]>(
        store,
        [["rec", id], ["by-owner", owner, id], ["count"]],
        ([rec, _idx, count]) => {
          if (rec) return SKIP; // stored once
          return [
            new TextEncoder().encode(owner),
            new Uint8Array(),
            new Deno.KvU64((count?.value ?? 0n) + 1n),
          ];
        },
      );
    const r = await put("r1", "alice");
    assert.equal(r.written, true);
    assert.equal(r.versionstamps[0], r.versionstamps[1]);
    await put("r2", "bob");
    assert.equal((await put("r1", "alice")).written, false);
    assert.equal((await store.kv.get<Counter>(["count"])).value?.value, 2n);
    assert.deepEqual(
      (await Array.fromAsync(store.kv.list({ prefix: ["by-owner"] }))).map((e) => e.key),
      [["by-owner", "alice", "r1"], ["by-owner", "bob", "r2"]],
    );

    // KEEP leaves a key as it is, yet the commit still checks it.
    const before = await store.kv.get(["rec", "r1"]);
    const kept = await updateMany<[Uint8Array, Counter]>(store, [["rec", "r1"], ["count"]], (
      [, count],
    ) => [KEEP, new Deno.KvU64(count!.value + 10n)]);
    assert.equal(kept.versionstamps[0], before.versionstamp);
    assert.deepEqual(kept.values[0], before.value);
    assert.equal((await store.kv.get<Counter>(["count"])).value?.value, 12n);
  });
});

Deno.test("update gives up with BusyError when every attempt conflicts", async () => {
  await withTwoStores(async (a, b) => {
    const key = ["hot"];
    let calls = 0;
    await assert.rejects(
      update<number>(a, key, async (n = 0) => {
        calls++;
        await b.kv.set(key, n + 100); // another process always writes in between
        return n + 1;
      }, { maxAttempts: 3 }),
      (e) => e instanceof BusyError && e.message.includes('["hot"]'),
    );
    assert.equal(calls, 3);
  });
});

Deno.test("update refuses values and commits over the limits before committing", async () => {
  await withTwoStores(async (store) => {
    await assert.rejects(
      update<Uint8Array>(store, ["big"], () => new Uint8Array(MAX_VALUE_BYTES + 1)),
      TooLargeError,
    );
    const small = { ...store, limits: { ...store.limits, maxChecks: 2 } };
    await assert.rejects(
      updateMany<[number, number, number]>(small, [["a"], ["b"], ["c"]], () => [1, 2, 3]),
      (e) => e instanceof RangeError && e.message.includes("3 checks (max 2)"),
    );
    await assert.rejects(
      update<number>(store, ["x"], () => 1, {
        mutate: (m) => {
          for (let i = 0; i < 1000; i++) m.set(["extra", i], new Uint8Array(1));
        },
      }),
      (e) => e instanceof RangeError && e.message.includes("1001 mutations"),
    );
    assert.equal((await store.kv.get(["x"])).versionstamp, null, "nothing was committed");
    await assert.rejects(
      updateMany<[number, number]>(store, [["a", 1n], ["a", 1n]], () => [1, 2]),
      (e) => e instanceof TypeError && e.message.includes('["a",1n]'),
    );
  });
});

Deno.test("formatKey shows every kind of key part", () => {
  assert.equal(
    formatKey(["lease", new Uint8Array([0, 255]), 5n, 1.5, true]),
    '["lease",0x00ff,5n,1.5,true]',
  );
});
