import assert from "node:assert/strict";
import { ConflictError } from "../../lib/errors.ts";
import { CHUNK_BYTES } from "../../storage/blob_layout.ts";
import type { BlobInfo, BlobStore, PutResult } from "../../storage/blob_store.ts";
import { commit, type Store } from "../../storage/kv.ts";
import {
  bytesOf,
  census,
  chunkUploads,
  readAll,
  sha256Of,
  streamOf,
  withBlobs,
} from "./blob_fixtures.ts";
import { blobKind, hookedStore, type PendingCommit } from "./hooked_store.ts";

const CS = CHUNK_BYTES;
const N = 30; // chunks: three batch commits
const SIZE = N * CS - 7;
const HOUR = 3_600_000;
const MiB = 1 << 20;

/** A store that runs `action` once, just before the first commit that `match` picks. */
function pausingAt(
  store: Store,
  match: (c: PendingCommit) => boolean,
  action: () => Promise<unknown>,
): Store {
  let done = false;
  return hookedStore(store, {
    async beforeCommit(c) {
      if (done || !match(c)) return;
      done = true;
      await action();
    },
  });
}

const has = (keys: Deno.KvKey[], kind: string) => keys.some((k) => blobKind(k) === kind);
/** put's last commit: it sets the manifest. */
const settingManifest = (c: PendingCommit) => has(c.sets, "m");
/** collect's commit that deletes a blob. */
const deletingManifest = (c: PendingCommit) => has(c.deletes, "m");

/** An owner's record and its reference to a blob, in one commit. */
const own = (store: Store, blobs: BlobStore, id: number, blob: BlobInfo) =>
  commit(store, "owner", (op) => blobs.addRef(op.set(["owner", id], blob.hash), blob));

Deno.test("BlobStore put of content stored already returns that blob and keeps no second copy", async () => {
  await withBlobs(async ({ blobs, store }) => {
    const first = await blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    const again = await blobs.put(streamOf(bytesOf(SIZE), 4096), { maxBytes: SIZE });
    assert.equal(again.created, false);
    assert.equal(again.versionstamp, first.versionstamp);
    assert.deepEqual(again.upload, first.upload);
    assert.deepEqual(await census(store), { m: 1, c: N, z: 1 });
  });
});

Deno.test("BlobStore concurrent puts of the same content store one manifest and leave no garbage", async () => {
  await withBlobs(async ({ blobs, store, clock }) => {
    const puts = await Promise.all(
      [1_000, 50_000, 1 << 20].map((piece) =>
        blobs.put(streamOf(bytesOf(SIZE), piece), { maxBytes: SIZE })
      ),
    );
    assert.equal(puts.filter((p) => p.created).length, 1);
    const winner = puts.find((p) => p.created)!;
    for (const p of puts) assert.equal(p.versionstamp, winner.versionstamp);
    assert.deepEqual(await chunkUploads(store), new Set([winner.upload.toHex()]));
    assert.deepEqual(await census(store), { m: 1, c: N, z: 1 });
    await own(store, blobs, 1, winner);
    clock.now += HOUR + 1;
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 0, uploads: 0, chunks: 0 });
    assert.deepEqual(await census(store), { m: 1, c: N, r: 1 });
    assert.deepEqual(await readAll((await blobs.get(winner.hash))!.stream), bytesOf(SIZE));
  });
});

Deno.test("BlobStore put that loses the race at its manifest deletes its chunks and returns the winner", async () => {
  await withBlobs(async ({ blobs, store, blobsOn }) => {
    let winner: PutResult | undefined;
    const loser = blobsOn(pausingAt(store, settingManifest, async () => {
      winner = await blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    }));
    const lost = await loser.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    assert.ok(winner?.created);
    assert.equal(lost.created, false);
    assert.equal(lost.versionstamp, winner.versionstamp);
    assert.deepEqual(await chunkUploads(store), new Set([winner.upload.toHex()]));
    assert.deepEqual(await census(store), { m: 1, c: N, z: 1 });
  });
});

Deno.test("BlobStore put that finds the blob being collected stores its own copy", async () => {
  await withBlobs(async ({ blobs, store, blobsOn, clock }) => {
    const old = await blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    clock.now += HOUR + 1;
    // Between the failed manifest commit and refreshing the old blob, collect deletes the old one.
    const touching = (c: PendingCommit) => has(c.sets, "z") && !has(c.sets, "m");
    const racing = blobsOn(pausingAt(store, touching, () => blobs.collect({ graceMs: HOUR })));
    const put = await racing.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    assert.equal(put.created, true);
    assert.notDeepEqual(put.upload, old.upload);
    await blobs.collect({ graceMs: HOUR }); // the old chunks, now a "deleting" upload
    assert.deepEqual(await chunkUploads(store), new Set([put.upload.toHex()]));
    assert.deepEqual(await census(store), { m: 1, c: N, z: 1 });
    assert.deepEqual(await readAll((await blobs.get(put.hash))!.stream), bytesOf(SIZE));
  });
});

Deno.test("BlobStore crash between chunks and manifest: nothing readable, collect() removes the chunks after grace", async () => {
  await withBlobs(async (env) => {
    const bytes = bytesOf(SIZE);
    let crashed = false;
    const dying = env.blobsOn(hookedStore(env.store, {
      beforeCommit(c) {
        if (crashed || settingManifest(c)) {
          crashed = true; // the process is gone: nothing it does from here on lands
          throw new Error("Simulated crash");
        }
      },
    }));
    await assert.rejects(dying.put(streamOf(bytes), { maxBytes: SIZE }), /Simulated crash/);
    await env.reopen(); // the restart
    const hash = await sha256Of(bytes);
    assert.equal(await env.blobs.stat(hash), null);
    assert.equal(await env.blobs.get(hash), null);
    assert.deepEqual(await census(env.store), { c: 26, u: 1 }, "two batches landed");
    env.clock.now += HOUR;
    assert.deepEqual(await env.blobs.collect({ graceMs: HOUR }), {
      blobs: 0,
      uploads: 0,
      chunks: 0,
    });
    assert.deepEqual(await census(env.store), { c: 26, u: 1 }, "within grace: kept");
    env.clock.now += 1;
    assert.deepEqual(await env.blobs.collect({ graceMs: HOUR }), {
      blobs: 0,
      uploads: 1,
      chunks: 26,
    });
    assert.deepEqual(await census(env.store), {});
    const put = await env.blobs.put(streamOf(bytes), { maxBytes: SIZE });
    assert.equal(put.created, true, "the same content stores afresh");
  });
});

Deno.test("BlobStore put stalled past the grace period is collected and then fails with ConflictError", async () => {
  await withBlobs(async ({ blobs, store, clock }) => {
    const bytes = bytesOf(SIZE);
    let resume!: () => void;
    const stalled = new Promise<void>((r) => resume = r);
    let sent = 0;
    let paused = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= 20 * CS && !paused) {
          paused = true;
          await stalled;
        }
        if (sent >= bytes.length) return c.close();
        c.enqueue(bytes.slice(sent, sent += CS));
      },
    }, { highWaterMark: 0 });
    const putting = blobs.put(body, { maxBytes: SIZE }).catch((e) => e);
    while (!paused) await new Promise((r) => setTimeout(r, 0));
    clock.now += HOUR + 1;
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 0, uploads: 1, chunks: 13 });
    resume();
    const err = await putting;
    assert.ok(err instanceof ConflictError, String(err));
    assert.deepEqual(await census(store), {});
    assert.equal(await blobs.stat(await sha256Of(bytes)), null);
  });
});

Deno.test("BlobStore keeps a referenced blob; after the last reference goes, collect() deletes it after grace", async () => {
  await withBlobs(async ({ blobs, store, clock }) => {
    const blob = await blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    await own(store, blobs, 1, blob);
    await own(store, blobs, 2, blob);
    assert.equal(await blobs.references(blob.hash), 2);
    clock.now += HOUR + 1;
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 0, uploads: 0, chunks: 0 });
    assert.deepEqual(await census(store), { m: 1, c: N, r: 1 }, "the referenced blob lost its z");
    const disown = (id: number) =>
      commit(store, "owner", (op) => blobs.dropRef(op.delete(["owner", id]), blob.hash));
    await disown(1);
    clock.now += HOUR + 1;
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 0, uploads: 0, chunks: 0 });
    assert.equal(await blobs.references(blob.hash), 1);
    await disown(2);
    assert.equal(await blobs.references(blob.hash), 0);
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 0, uploads: 0, chunks: 0 });
    assert.ok(await blobs.stat(blob.hash), "kept within the grace period after the drop");
    clock.now += HOUR + 1;
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 1, uploads: 0, chunks: N });
    assert.equal(await blobs.stat(blob.hash), null);
    assert.deepEqual(await census(store), {});
  });
});

Deno.test("BlobStore put of a stored, unreferenced blob restarts its grace period", async () => {
  await withBlobs(async ({ blobs, clock }) => {
    const blob = await blobs.put(streamOf(bytesOf(100)), { maxBytes: 100 });
    clock.now += 2 * HOUR;
    assert.equal((await blobs.put(streamOf(bytesOf(100)), { maxBytes: 100 })).created, false);
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 0, uploads: 0, chunks: 0 });
    clock.now += HOUR + 1;
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 1, uploads: 0, chunks: 1 });
    assert.equal(await blobs.stat(blob.hash), null);
  });
});

Deno.test("BlobStore reference committed while collect() deletes: collect loses, the blob stays", async () => {
  await withBlobs(async (env) => {
    const { blobs, store } = env;
    const blob = await blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    let owned: Deno.KvCommitResult | Deno.KvCommitError | undefined;
    // collect() has read count 0; before its delete lands, an owner references the blob.
    const collector = env.blobsOn(pausingAt(store, deletingManifest, async () => {
      owned = await own(store, blobs, 1, blob);
    }));
    env.clock.now += HOUR + 1;
    assert.deepEqual(await collector.collect({ graceMs: HOUR }), {
      blobs: 0,
      uploads: 0,
      chunks: 0,
    });
    assert.equal(owned?.ok, true);
    await env.reopen();
    assert.equal(await env.blobs.references(blob.hash), 1);
    assert.deepEqual(await env.blobs.collect({ graceMs: HOUR }), {
      blobs: 0,
      uploads: 0,
      chunks: 0,
    });
    assert.deepEqual(await readAll((await env.blobs.get(blob.hash))!.stream), bytesOf(SIZE));
    assert.deepEqual(await census(env.store), { m: 1, c: N, r: 1 });
  });
});

Deno.test("BlobStore reference committed just after collect() deleted the blob fails, with the owner's record", async () => {
  await withBlobs(async (env) => {
    const { blobs, store } = env;
    const blob = await blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    const read = await blobs.stat(blob.hash); // the owner read the blob …
    env.clock.now += HOUR + 1;
    let collected;
    // … and before its commit lands, collect() deletes the unreferenced blob.
    const owner = pausingAt(store, (c) => has(c.sums, "r"), async () => {
      collected = await blobs.collect({ graceMs: HOUR });
    });
    const res = await commit(owner, "owner", (op) => blobs.addRef(op.set(["owner", 1], 1), read!));
    assert.deepEqual(collected, { blobs: 1, uploads: 0, chunks: N });
    assert.equal(res.ok, false);
    await env.reopen();
    assert.equal((await env.store.kv.get(["owner", 1])).versionstamp, null);
    assert.equal(await env.blobs.stat(blob.hash), null);
    assert.deepEqual(await census(env.store), {});
    // Content stored again is a new manifest: the old read cannot reference it.
    const again = await env.blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    const stale = await commit(env.store, "owner", (op) => env.blobs.addRef(op, read!));
    assert.equal(stale.ok, false);
    assert.equal((await own(env.store, env.blobs, 1, again)).ok, true);
  });
});

Deno.test("BlobStore reference dropped while collect() clears a marker: the blob is still collected later", async () => {
  await withBlobs(async (env) => {
    const { blobs, store } = env;
    const blob = await blobs.put(streamOf(bytesOf(SIZE)), { maxBytes: SIZE });
    await own(store, blobs, 1, blob);
    // collect() read count 1 and is about to drop the "z" marker; the owner drops its reference.
    const clearingMarker = (c: PendingCommit) => has(c.deletes, "z") && !has(c.deletes, "m");
    const collector = env.blobsOn(
      pausingAt(
        store,
        clearingMarker,
        () => commit(store, "owner", (op) => blobs.dropRef(op.delete(["owner", 1]), blob.hash)),
      ),
    );
    env.clock.now += HOUR + 1;
    assert.deepEqual(await collector.collect({ graceMs: HOUR }), {
      blobs: 0,
      uploads: 0,
      chunks: 0,
    });
    assert.deepEqual(await census(store), { m: 1, c: N, r: 1, z: 1 }, "the new marker stays");
    env.clock.now += HOUR + 1;
    assert.deepEqual(await blobs.collect({ graceMs: HOUR }), { blobs: 1, uploads: 0, chunks: N });
    assert.deepEqual(await census(store), {});
  });
});

Deno.test("BlobStore state survives reopening the KV file", async () => {
  await withBlobs(async (env) => {
    const kept = await env.blobs.put(streamOf(bytesOf(2 * MiB, 1)), { maxBytes: 2 * MiB });
    const loose = await env.blobs.put(streamOf(bytesOf(1000, 2)), { maxBytes: 1000 });
    await own(env.store, env.blobs, 1, kept);
    await env.reopen();
    const info = (await env.blobs.stat(kept.hash))!;
    assert.equal(info.versionstamp, kept.versionstamp);
    assert.equal(info.size, 2 * MiB);
    assert.equal(info.createdAt, kept.createdAt);
    assert.equal(await env.blobs.references(kept.hash), 1);
    env.clock.now += HOUR + 1;
    assert.deepEqual(await env.blobs.collect({ graceMs: HOUR }), {
      blobs: 1,
      uploads: 0,
      chunks: 1,
    });
    await env.reopen();
    assert.equal(await env.blobs.stat(loose.hash), null);
    assert.deepEqual(await readAll((await env.blobs.get(kept.hash))!.stream), bytesOf(2 * MiB, 1));
  });
});
