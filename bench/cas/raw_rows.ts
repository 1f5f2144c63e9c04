/**
 * Raw KV baselines of the CAS rows: writing each blob's chunks as the blob
 * store does (60 KiB values under a fresh upload id, as many per commit as
 * fit) and reading them back (getMany of 10, in order), on a KV file of
 * the bench's own. Keys come from storage/blob_layout.ts; only KV calls
 * are timed.
 */
import { CHUNK_BYTES, chunkKey, UPLOAD_ID_BYTES } from "../../storage/blob_layout.ts";
import { chunkForCommit, setCost, type Store } from "../../storage/kv.ts";
import { commitRaw } from "../harness/raw_kv.ts";
import { measure, type Phase } from "../harness/measure.ts";
import type { Result } from "../harness/result.ts";
import type { BlobPool } from "./content.ts";

/** Where a raw blob's chunks are. */
export interface RawBlob {
  upload: Uint8Array;
  chunks: number;
}

/** A result in requests/s as MB/s of `size`-byte blobs. */
export function asMBps(r: Result, size: number): Result {
  return { ...r, rate: r.rate * size / 1e6 };
}

/** Writes blobs 0..total-1 (and the warm-up ones) as chunks; MB/s, and where each went. */
export async function rawPut(
  store: Store,
  pool: BlobPool,
  phase: Phase,
): Promise<{ result: Result; blobs: RawBlob[] }> {
  const blobs: RawBlob[] = [];
  const result = await measure(undefined, phase, (k) => {
    const bytes = pool.take(k);
    const upload = crypto.getRandomValues(new Uint8Array(UPLOAD_ID_BYTES));
    const sets: [Deno.KvKey, Uint8Array][] = [];
    for (let i = 0; i * CHUNK_BYTES < bytes.length || i === 0; i++) {
      sets.push([chunkKey(upload, i), bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)]);
    }
    blobs[k] = { upload, chunks: sets.length };
    const runs = chunkForCommit(sets, store.limits, ([key, v]) => setCost(key, v.length));
    return async () => {
      try {
        for (const run of runs) {
          const op = store.kv.atomic();
          for (const [key, v] of run) op.set(key, v);
          await commitRaw(op);
        }
      } finally {
        pool.release(bytes);
      }
    };
  });
  return { result: asMBps(result, pool.size), blobs };
}

/** Reads blobs 0..total-1 back, 10 chunks a call; MB/s. */
export async function rawGet(
  store: Store,
  blobs: readonly RawBlob[],
  size: number,
  phase: Phase,
): Promise<Result> {
  const r = await measure(undefined, phase, (k) => async () => {
    const { upload, chunks } = blobs[k];
    let bytes = 0;
    for (let i = 0; i < chunks; i += 10) {
      const keys = Array.from(
        { length: Math.min(10, chunks - i) },
        (_, j) => chunkKey(upload, i + j),
      );
      for (const e of await store.kv.getMany<Uint8Array[]>(keys)) bytes += e.value?.length ?? 0;
    }
    return bytes;
  }, { ok: (n) => n === size, warmAt: 0 });
  return asMBps(r, size);
}
