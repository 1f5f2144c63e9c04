import assert from "node:assert/strict";
import { TooLargeError } from "../../lib/errors.ts";
import { CHUNK_BYTES, chunkKey, PUT_OVERHEAD } from "../../storage/blob_layout.ts";
import { addCosts, type CommitCost, fits, type KvLimits, setCost } from "../../storage/kv.ts";
import { bytesOf, census, readAll, sha256Of, streamOf, withBlobs } from "./blob_fixtures.ts";
import { blobKind, hookedStore } from "./hooked_store.ts";
import { recordingStore } from "./recording_store.ts";

const CS = CHUNK_BYTES;
const MiB = 1 << 20;

Deno.test("BlobStore round-trips blobs of 0, 1, chunk−1, chunk, chunk+1 and many chunks", async () => {
  await withBlobs(async (env) => {
    const { blobs, store } = env;
    const sizes = [0, 1, CS - 1, CS, CS + 1, 13 * CS, 13 * CS + 1, 30 * CS + 12_345];
    const pieces = [1_000, 7_777, 65_536, 1 << 22];
    const stored = [];
    for (const [i, size] of sizes.entries()) {
      const bytes = bytesOf(size, i + 1);
      const put = await blobs.put(streamOf(bytes, pieces[i % pieces.length]), {
        maxBytes: size,
      });
      assert.deepEqual(put.hash, await sha256Of(bytes), `hash of ${size} bytes`);
      assert.equal(put.size, size);
      assert.equal(put.created, true);
      stored.push({ bytes, hash: put.hash });
    }
    assert.equal((await census(store)).u, undefined, "no upload marker is left");
    await env.reopen();
    for (const { bytes, hash } of stored) {
      const got = await env.blobs.get(hash);
      assert.ok(got, `blob of ${bytes.length} bytes after reopening`);
      assert.equal(got.blob.size, bytes.length);
      assert.deepEqual(await readAll(got.stream), bytes, `bytes of ${bytes.length}`);
    }
  });
});

Deno.test("BlobStore stat and get answer null for a hash that was never stored", async () => {
  await withBlobs(async ({ blobs }) => {
    const hash = await sha256Of(new Uint8Array([1, 2, 3]));
    assert.equal(await blobs.stat(hash), null);
    assert.equal(await blobs.get(hash), null);
    await assert.rejects(blobs.stat(new Uint8Array(31)), TypeError);
  });
});

Deno.test("BlobStore puts 64 MiB and reads it back", async () => {
  await withBlobs(async ({ blobs }) => {
    const bytes = bytesOf(64 * MiB, 64);
    const put = await blobs.put(streamOf(bytes, 64 * 1024), { maxBytes: 64 * MiB });
    assert.deepEqual(put.hash, await sha256Of(bytes));
    const got = await blobs.get(put.hash);
    assert.deepEqual(await readAll(got!.stream), bytes);
  });
});

Deno.test("BlobStore put over maxBytes throws TooLargeError, stops reading and leaves no chunks", async () => {
  await withBlobs(async ({ store, blobsOn }) => {
    // 40 chunks against a limit of 30: batches are committed before the limit is crossed.
    const bytes = bytesOf(40 * CS);
    let pulled = 0;
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(bytes.slice(pulled, pulled += 50_000));
      },
      cancel(reason) {
        cancelled = reason;
      },
    }, { highWaterMark: 0 });
    let chunkCommits = 0;
    const blobs = blobsOn(hookedStore(store, {
      beforeCommit: (c) => void (c.sets.some((k) => blobKind(k) === "c") && chunkCommits++),
    }));
    const err = await blobs.put(body, { maxBytes: 30 * CS }).catch((e) => e);
    assert.ok(err instanceof TooLargeError, String(err));
    assert.equal(err.limit, 30 * CS);
    assert.ok(err.size > 30 * CS && err.size <= 30 * CS + 50_000, `size ${err.size}`);
    assert.ok(chunkCommits >= 2, `${chunkCommits} chunk commits before the limit`);
    assert.equal(cancelled, err, "the body was cancelled with the error");
    assert.equal(pulled, err.size, "nothing was read past the piece that crossed the limit");
    assert.deepEqual(await census(store), {});
  });
});

Deno.test("BlobStore put throws the abort reason, cancels a stalled body and leaves no chunks", async () => {
  await withBlobs(async ({ blobs, store }) => {
    const ac = new AbortController();
    const reason = new Error("Client went away");
    let sent = 0;
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 20 * CS) {
          ac.abort(reason);
          return new Promise(() => {}); // the client stalls: only the abort ends this read
        }
        c.enqueue(bytesOf(CS, sent + 1));
        sent += CS;
      },
      cancel(r) {
        cancelled = r;
      },
    }, { highWaterMark: 0 });
    await assert.rejects(blobs.put(body, { maxBytes: 64 * MiB, signal: ac.signal }), reason);
    assert.equal(cancelled, reason);
    assert.deepEqual(await census(store), {});
    await assert.rejects(
      blobs.put(streamOf(new Uint8Array(1)), { maxBytes: 1, signal: ac.signal }),
      reason,
      "an aborted signal stops a put before it starts",
    );
  });
});

Deno.test("BlobStore put throws the error of a body that fails midway (a client disconnect), leaving nothing", async () => {
  await withBlobs(async ({ blobs, store }) => {
    const gone = new Error("Connection reset");
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 30 * CS) return c.error(gone);
        c.enqueue(bytesOf(CS, ++sent));
        sent += CS;
      },
    }, { highWaterMark: 0 });
    await assert.rejects(blobs.put(body, { maxBytes: 64 * MiB }), gone);
    assert.deepEqual(await census(store), {});
  });
});

Deno.test("BlobStore put rejects a body of other than Uint8Array with TypeError, leaving nothing", async () => {
  await withBlobs(async ({ blobs, store }) => {
    const body = ReadableStream.from<unknown>([bytesOf(20 * CS), "text"]);
    await assert.rejects(
      blobs.put(body as ReadableStream<Uint8Array>, { maxBytes: 64 * MiB }),
      TypeError,
    );
    assert.deepEqual(await census(store), {});
    await assert.rejects(blobs.put(streamOf(new Uint8Array(1)), { maxBytes: -1 }), RangeError);
  });
});

Deno.test("BlobStore put commits chunks in batches as large as fit, within local and remote limits", async () => {
  const remote: KvLimits = {
    maxChecks: 10,
    maxMutations: 1000,
    maxBytes: 800 * 1024,
    maxKeyBytes: 80 * 1024,
  };
  await withBlobs(async ({ store, blobsOn }) => {
    for (
      const [i, limits] of [store.limits, remote, { ...remote, maxBytes: 200 * 1024 }].entries()
    ) {
      const seen: CommitCost[] = [];
      const blobs = blobsOn(recordingStore(store, limits, seen));
      const chunks = 40;
      const put = await blobs.put(streamOf(bytesOf(chunks * CS, i + 1)), {
        maxBytes: chunks * CS,
      });
      assert.ok(put.created);
      for (const c of seen) assert.ok(fits(c, limits), `commit ${JSON.stringify(c)} fits`);
      // As many chunks per commit as fit beside the put's own keys.
      const one = setCost(chunkKey(put.upload, 0), CS);
      let perCommit = 0;
      while (fits(addCosts(...Array(perCommit + 1).fill(one), PUT_OVERHEAD), limits)) perCommit++;
      if (i === 0) assert.equal(perCommit, 13, "13 chunks of 60 KiB in a commit of 800 KiB");
      assert.equal(seen.length, Math.ceil(chunks / perCommit), `commits at ${limits.maxBytes}`);
    }
  });
});

Deno.test("BlobStore.put with an owner writes the owner's entry and a reference in its last commit", async () => {
  await withBlobs(async ({ blobs, store, clock }) => {
    const size = 20 * CHUNK_BYTES + 5;
    const ownerKey = (hash: Uint8Array): Deno.KvKey => ["owner", hash];
    const put = await blobs.put(streamOf(bytesOf(size)), {
      maxBytes: size,
      owner: (hash, n) => ({ key: ownerKey(hash), value: new Uint8Array([n & 255]) }),
    });
    assert.equal(put.created, true);
    assert.equal(put.owned, true);
    assert.equal(await blobs.references(put.hash), 1);
    assert.notEqual((await store.kv.get(ownerKey(put.hash))).versionstamp, null);
    // Referenced: collection leaves it.
    clock.now += 3_600_000;
    await blobs.collect({ graceMs: 1 });
    assert.deepEqual(await readAll((await blobs.get(put.hash))!.stream), bytesOf(size));
    const before = await census(store);
    // The same content again, its owner entry there already: nothing new, no second reference,
    // and the second upload's chunks are gone.
    const again = await blobs.put(streamOf(bytesOf(size)), {
      maxBytes: size,
      owner: (hash) => ({ key: ownerKey(hash), value: new Uint8Array([1]) }),
    });
    assert.equal(again.created, false);
    assert.equal(again.owned ?? false, false);
    assert.equal(await blobs.references(put.hash), 1);
    assert.deepEqual(await census(store), before);
  });
});
