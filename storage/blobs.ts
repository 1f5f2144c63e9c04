/**
 * Chunked blobs: byte strings larger than one KV value, split into chunks
 * under a key prefix that the owning repository chooses.
 *
 * | key                 | value                          |
 * | ------------------- | ------------------------------ |
 * | [...prefix, i]      | chunk i (Uint8Array ≤ 60 KiB)  |
 *
 * The owner keeps the blob's size next to its own record, so a reader knows
 * the chunk count. The chunks are written inside the owner's atomic commit
 * (blobSets), so a reader never sees a reference to missing chunks; content
 * too large for one commit goes to the shared blob store (blob_store.ts).
 */
import { concat } from "../lib/bytes.ts";
import { addCosts, type CommitCost, MAX_VALUE_BYTES, setCost, type Store } from "./kv.ts";

/** The chunk size, below KV's 64 KiB value limit. */
export const CHUNK_BYTES = MAX_VALUE_BYTES;

/** Number of chunks a blob of this size occupies. */
export function chunkCount(size: number): number {
  return Math.ceil(size / CHUNK_BYTES);
}

/** The set mutations that store `bytes` under `prefix`, for the caller's own atomic. */
export function blobSets(prefix: Deno.KvKey, bytes: Uint8Array): [Deno.KvKey, Uint8Array][] {
  const out: [Deno.KvKey, Uint8Array][] = [];
  for (let i = 0; i * CHUNK_BYTES < bytes.length; i++) {
    out.push([[...prefix, i], bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)]);
  }
  return out;
}

/** What setting a blob of this size under `prefix` adds to a commit. */
export function blobCost(prefix: Deno.KvKey, size: number): CommitCost {
  const keys = blobKeys(prefix, size);
  return addCosts(
    ...keys.map((k, i) => setCost(k, Math.min(CHUNK_BYTES, size - i * CHUNK_BYTES))),
  );
}

/**
 * Reads a whole blob of known size; undefined when its chunks are not all
 * there (its owner deleted them meanwhile, say): the owner decides what that means.
 */
export async function readBlob(
  store: Store,
  prefix: Deno.KvKey,
  size: number,
): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = [];
  for await (const entry of store.kv.list<Uint8Array>({ prefix }, { batchSize: 16 })) {
    parts.push(entry.value);
  }
  const bytes = concat(parts);
  return bytes.length === size ? bytes : undefined;
}

/** The keys of a blob's chunks, e.g. to delete them in the owner's atomic. */
export function blobKeys(prefix: Deno.KvKey, size: number): Deno.KvKey[] {
  return Array.from({ length: chunkCount(size) }, (_, i) => [...prefix, i]);
}
