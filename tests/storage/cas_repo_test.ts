import assert from "node:assert/strict";
import { TooLargeError } from "../../lib/errors.ts";
import { decodeEntry, encodeEntry, INLINE_MAX_BYTES } from "../../storage/cas_entry.ts";
import { CasRepo } from "../../storage/cas_repo.ts";
import { bytesOf, census, readAll, sha256Of, streamOf, withBlobs } from "./blob_fixtures.ts";

const MiB = 1 << 20;

Deno.test("CAS entries: small content in the entry, larger as a referenced blob, the edge exact", async () => {
  await withBlobs(async (env) => {
    const repo = new CasRepo(env.store, env.blobs, () => env.clock.now);
    const small = bytesOf(INLINE_MAX_BYTES, 1);
    const large = bytesOf(INLINE_MAX_BYTES + 1, 2);
    const a = await repo.add(streamOf(small, 7_000), { maxBytes: MiB });
    assert.equal(a.created, true);
    assert.deepEqual(a.record.digest, await sha256Of(small));
    assert.equal(a.record.blob, undefined);
    assert.deepEqual(await census(env.store), {}, "no blob for content kept in its entry");
    const b = await repo.add(streamOf(large, 7_000), { maxBytes: MiB });
    assert.ok(b.record.blob, "a blob past the edge");
    assert.equal(await env.blobs.references(b.record.digest), 1);
    for (const [bytes, { record }] of [[small, a], [large, b]] as const) {
      const found = await repo.find(record.digest);
      assert.ok(found);
      assert.equal(found.size, bytes.length);
      assert.equal(found.addedAt, env.clock.now);
      assert.deepEqual(await readAll(repo.read(found)), bytes);
      const range = { start: 1000, end: 40_000 };
      assert.deepEqual(await readAll(repo.read(found, range)), bytes.subarray(1000, 40_001));
      assert.throws(() => repo.read(found, { start: bytes.length }), RangeError);
    }
  });
});

Deno.test("CAS adds are idempotent, also at once; the empty content is content too", async () => {
  await withBlobs(async (env) => {
    const repo = new CasRepo(env.store, env.blobs);
    for (const bytes of [new Uint8Array(), bytesOf(5000, 3), bytesOf(300_000, 4)]) {
      const results = await Promise.all(
        [1000, 3000, 64_000].map((piece) => repo.add(streamOf(bytes, piece), { maxBytes: MiB })),
      );
      assert.equal(results.filter((r) => r.created).length, 1, `${bytes.length} bytes`);
      const again = await repo.add(streamOf(bytes), { maxBytes: MiB });
      assert.equal(again.created, false);
      assert.deepEqual(await readAll(repo.read(again.record)), bytes);
    }
    assert.equal(await env.blobs.references(await sha256Of(bytesOf(300_000, 4))), 1);
    assert.equal((await Array.fromAsync(env.store.kv.list({ prefix: ["cas"] }))).length, 3);
  });
});

Deno.test("CAS refuses content past maxBytes from the first bytes on, keeping nothing", async () => {
  await withBlobs(async (env) => {
    const repo = new CasRepo(env.store, env.blobs);
    for (
      const [size, max] of [[2000, 1000], [INLINE_MAX_BYTES + 10, INLINE_MAX_BYTES], [3 * MiB, MiB]]
    ) {
      await assert.rejects(
        repo.add(streamOf(bytesOf(size, 5), 500), { maxBytes: max }),
        (e: TooLargeError) => e instanceof TooLargeError && e.limit === max,
      );
    }
    assert.deepEqual(await Array.fromAsync(env.store.kv.list({ prefix: ["cas"] })), []);
    assert.deepEqual(await census(env.store), {});
  });
});

Deno.test("CAS entry values round trip and refuse what is not one", () => {
  for (
    const e of [
      { size: 0, addedAt: 1 },
      { size: 5, addedAt: 2, inline: new Uint8Array([1, 2, 3, 4, 5]) },
      { size: 1 << 30, addedAt: Date.now() },
    ]
  ) {
    assert.deepEqual(decodeEntry(encodeEntry(e)), e);
  }
  const v1 = encodeEntry({ size: 3, addedAt: 1 });
  const v2 = encodeEntry({ size: 3, addedAt: 1, inline: new Uint8Array(3) });
  for (
    const bad of [
      undefined,
      "x",
      new Uint8Array(5),
      v1.slice(0, 16),
      new Uint8Array([...v1, 0]),
      v2.slice(0, 19),
      new Uint8Array([3, ...v1.slice(1)]),
    ]
  ) {
    assert.throws(() => decodeEntry(bad), SyntaxError);
  }
  assert.throws(
    () => encodeEntry({ size: 0, addedAt: 0, inline: new Uint8Array(INLINE_MAX_BYTES + 1) }),
    RangeError,
  );
});
