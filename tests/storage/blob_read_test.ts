import assert from "node:assert/strict";
import { NotFoundError } from "../../lib/errors.ts";
import { CHUNK_BYTES } from "../../storage/blob_layout.ts";
import { READ_BATCH } from "../../storage/blob_read.ts";
import { commit } from "../../storage/kv.ts";
import { bytesOf, readAll, streamOf, withBlobs } from "./blob_fixtures.ts";
import { blobKind, hookedStore } from "./hooked_store.ts";

const CS = CHUNK_BYTES;
const SIZE = 3 * CS + 100;

Deno.test("BlobStore reads byte ranges: first byte, last byte, across chunk boundaries, whole", async () => {
  await withBlobs(async ({ blobs }) => {
    const bytes = bytesOf(SIZE);
    const { hash } = await blobs.put(streamOf(bytes), { maxBytes: SIZE });
    const cases: [{ start: number; end?: number } | undefined, number, number][] = [
      [{ start: 0, end: 0 }, 0, 0],
      [{ start: SIZE - 1, end: SIZE - 1 }, SIZE - 1, SIZE - 1],
      [{ start: CS - 1, end: CS }, CS - 1, CS],
      [{ start: CS - 10, end: 2 * CS + 10 }, CS - 10, 2 * CS + 10],
      [{ start: CS, end: 2 * CS - 1 }, CS, 2 * CS - 1],
      [{ start: 0, end: SIZE - 1 }, 0, SIZE - 1],
      [undefined, 0, SIZE - 1],
      [{ start: 2 * CS + 5 }, 2 * CS + 5, SIZE - 1],
      [{ start: 7, end: SIZE + 1000 }, 7, SIZE - 1], // as HTTP: an end past the blob is its end
    ];
    for (const [range, start, end] of cases) {
      const got = await blobs.get(hash, range);
      assert.ok(got);
      assert.deepEqual([got.start, got.end], [start, end], JSON.stringify(range));
      assert.deepEqual(
        await readAll(got.stream),
        bytes.subarray(start, end + 1),
        JSON.stringify(range),
      );
    }
  });
});

Deno.test("BlobStore range reads fetch only the chunks the range needs", async () => {
  await withBlobs(async ({ blobs, store, blobsOn }) => {
    const { hash } = await blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    let read: number[] = [];
    const counted = blobsOn(hookedStore(store, {
      read: (key) => void (blobKind(key) === "c" && read.push(key[3] as number)),
    }));
    const cases: [{ start: number; end?: number } | undefined, number[]][] = [
      [{ start: 0, end: 0 }, [0]],
      [{ start: SIZE - 1 }, [3]],
      [{ start: CS - 1, end: CS }, [0, 1]],
      [{ start: CS, end: 2 * CS - 1 }, [1]],
      [{ start: 2 * CS + 5, end: 3 * CS + 5 }, [2, 3]],
      [undefined, [0, 1, 2, 3]],
    ];
    for (const [range, chunks] of cases) {
      read = [];
      await readAll((await counted.get(hash, range))!.stream);
      assert.deepEqual(read, chunks, JSON.stringify(range));
    }
  });
});

Deno.test("BlobStore rejects a range that selects nothing with RangeError", async () => {
  await withBlobs(async ({ blobs }) => {
    const { hash } = await blobs.put(streamOf(bytesOf(100)), { maxBytes: 100 });
    for (
      const range of [{ start: 100 }, { start: -1, end: 5 }, { start: 5, end: 4 }, { start: 0.5 }]
    ) {
      await assert.rejects(blobs.get(hash, range), RangeError, JSON.stringify(range));
    }
    const empty = await blobs.put(streamOf(new Uint8Array(0)), { maxBytes: 0 });
    await assert.rejects(blobs.get(empty.hash, { start: 0 }), RangeError);
    assert.deepEqual(await readAll((await blobs.get(empty.hash))!.stream), new Uint8Array(0));
  });
});

Deno.test("BlobStore reads lazily: nothing before the first pull, nothing after a cancel", async () => {
  await withBlobs(async ({ blobs, store, blobsOn }) => {
    const size = 40 * CS;
    const { hash } = await blobs.put(streamOf(bytesOf(size)), { maxBytes: size });
    let reads = 0;
    const counted = blobsOn(hookedStore(store, {
      read: (key) => void (blobKind(key) === "c" && reads++),
    }));
    const got = await counted.get(hash);
    assert.equal(reads, 0, "opening the stream reads no chunk");
    const reader = got!.stream.getReader();
    const first = await reader.read();
    assert.deepEqual(first.value, bytesOf(size).subarray(0, CS));
    const before = reads;
    assert.ok(before <= READ_BATCH, `${before} chunks read for the first one`);
    await reader.cancel();
    // The batch read ahead while the first was handed over may still land; nothing after it.
    await new Promise((r) => setTimeout(r, 50));
    const settled = reads;
    assert.ok(settled <= before + READ_BATCH, `${settled - before} chunks read after the first`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(reads, settled, "no chunk is read after the cancel");
  });
});

Deno.test("BlobStore stream errors with NotFoundError when the blob is collected under it", async () => {
  await withBlobs(async ({ blobs, store, clock }) => {
    // More chunks than the first batch and the one read ahead, so some are read after collect.
    const size = 4 * READ_BATCH * CS;
    const { hash } = await blobs.put(streamOf(bytesOf(size)), { maxBytes: size });
    const reader = (await blobs.get(hash))!.stream.getReader();
    await reader.read();
    // Unreferenced and past its grace period: collected while the stream is open.
    clock.now += 2;
    assert.equal((await blobs.collect({ graceMs: 1 })).blobs, 1);
    let err: unknown;
    try {
      while (!(await reader.read()).done) { /* drain what was read before */ }
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof NotFoundError, String(err));
    // A reference would have kept it: put again, reference, collect, read whole.
    const again = await blobs.put(streamOf(bytesOf(size)), { maxBytes: size });
    await commit(store, "test", (op) => blobs.addRef(op, again));
    const reading = (await blobs.get(hash))!.stream;
    clock.now += 2;
    await blobs.collect({ graceMs: 1 });
    assert.deepEqual(await readAll(reading), bytesOf(size));
  });
});
