/**
 * Garbage collection of the blob store: blobs nothing refers to, and chunks
 * no manifest owns. Why each step is safe beside concurrent puts and
 * references: blob_store.ts.
 */
import {
  chunkKey,
  decodeManifest,
  decodeMarker,
  decodeTime,
  encodeMarker,
  manifestKey,
  refsKey,
  UNREFS,
  uploadKey,
  UPLOADS,
} from "./blob_layout.ts";
import { chunkForCommit, commit, deleteCost, type Store } from "./kv.ts";

/** What one collect() pass deleted. */
export interface CollectStats {
  /** Blobs deleted because nothing referred to them. */
  blobs: number;
  /** Uploads deleted because they made no progress for the grace period. */
  uploads: number;
  /** Chunks deleted (of both). */
  chunks: number;
}

/** Deletes what has been garbage for longer than `graceMs`, as of `now`. */
export async function collectBlobs(
  store: Store,
  now: number,
  graceMs: number,
): Promise<CollectStats> {
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new RangeError(`graceMs must be a non-negative number, got ${graceMs}`);
  }
  const cutoff = now - graceMs;
  const stats: CollectStats = { blobs: 0, uploads: 0, chunks: 0 };
  // Blobs first: each one deleted leaves a "deleting" marker that the second pass takes.
  for await (const z of store.kv.list<Uint8Array>({ prefix: UNREFS })) {
    if (decodeTime(z.value) >= cutoff) continue;
    if (await collectBlob(store, z)) stats.blobs++;
  }
  for await (const u of store.kv.list<Uint8Array>({ prefix: UPLOADS })) {
    const marker = decodeMarker(u.value);
    if (marker.state === "writing" && marker.updatedAt >= cutoff) continue;
    const deleted = await collectUpload(store, u);
    if (deleted === undefined) continue;
    if (marker.state === "writing") stats.uploads++;
    stats.chunks += deleted;
  }
  return stats;
}

/**
 * Deletes a blob whose "maybe unreferenced" marker is past its grace period,
 * if its count is 0; its chunks become a "deleting" upload in the same
 * commit. A referenced blob only loses the marker. True if the blob went.
 */
async function collectBlob(store: Store, z: Deno.KvEntry<Uint8Array>): Promise<boolean> {
  const hash = z.key[2] as Uint8Array;
  const [m, r] = await store.kv.getMany<[Uint8Array, Deno.KvU64]>([
    manifestKey(hash),
    refsKey(hash),
  ]);
  if (m.versionstamp === null) {
    // A dropRef after the blob went: nothing but the marker and count to tidy.
    await commit(store, "blob", (op) => op.check(z, r).delete(z.key).delete(r.key));
    return false;
  }
  const refs = r.value instanceof Deno.KvU64 ? r.value.value : 0n;
  if (refs !== 0n) {
    // Referenced (or a count below zero, wrapped: an owner's bug, so keep the blob).
    // The check keeps a marker that a dropRef set again meanwhile.
    await commit(store, "blob", (op) => op.check(z).delete(z.key));
    return false;
  }
  const manifest = decodeManifest(m.value);
  const chunks = Math.ceil(manifest.size / manifest.chunkBytes);
  const marker = encodeMarker({
    state: "deleting",
    startedAt: manifest.createdAt,
    updatedAt: manifest.createdAt,
    chunks,
  });
  // The three checks make this commit conflict with any reference added, dropped or
  // re-armed since the reads above.
  const res = await commit(store, "blob", (op) => {
    op.check(m, r, z).delete(m.key).delete(r.key).delete(z.key);
    if (chunks > 0) op.set(uploadKey(manifest.upload), marker);
  });
  return res.ok;
}

/**
 * Deletes an upload's chunks and then its marker. The marker is first
 * rewritten (checked): that changes its versionstamp, so a put still
 * running fails its next commit instead of finishing over deleted chunks.
 * Returns the chunks deleted, or undefined when someone else got there first.
 */
async function collectUpload(
  store: Store,
  u: Deno.KvEntry<Uint8Array>,
): Promise<number | undefined> {
  const claimed = await commit(store, "blob", (op) => op.check(u).set(u.key, u.value));
  if (!claimed.ok) return undefined;
  const upload = u.key[2] as Uint8Array;
  const { chunks } = decodeMarker(u.value);
  const keys = Array.from({ length: chunks }, (_, i) => chunkKey(upload, i));
  keys.push(u.key);
  for (const run of chunkForCommit(keys, store.limits, deleteCost)) {
    await commit(store, "blob", (op) => run.forEach((k) => op.delete(k)));
  }
  return chunks;
}
