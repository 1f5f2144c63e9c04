/**
 * The CAS without HTTP: CasService.add and get in the bench process, on a
 * KV file of their own, with the same blobs and concurrency as the HTTP
 * rows. Beside the HTTP rows they show how much of a gap to raw KV is the
 * store (its crash-safe upload commits, the entry and its reference) and how
 * much is the HTTP path.
 */
import { createMetrics } from "../../lib/metrics.ts";
import { CasService } from "../../services/cas_service.ts";
import { BlobStore } from "../../storage/blob_store.ts";
import { openStore } from "../../storage/kv.ts";
import { measure, type Phase } from "../harness/measure.ts";
import type { Result } from "../harness/result.ts";
import type { BlobPool } from "./content.ts";
import { asMBps } from "./raw_rows.ts";

/**
 * The bytes as a stream of 64 KiB views, as a socket hands a body over (a
 * `Blob` stream copies the content first, measured 15% of a 64 MiB add).
 */
function pieces(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(at, at + 65536));
      at += 65536;
    },
  });
}

/** add() of blobs 0..total-1, then get() of each, read whole; both in MB/s. */
export async function serviceRows(
  path: string,
  pool: BlobPool,
  phase: Phase,
): Promise<{ add: Result; get: Result }> {
  const store = await openStore(path, createMetrics());
  try {
    const cas = new CasService(store, new BlobStore(store));
    const cids: string[] = [];
    const add = await measure(undefined, phase, (k) => {
      const bytes = pool.take(k);
      return async () => {
        try {
          const added = await cas.add(pieces(bytes), { maxBytes: pool.size });
          cids[k] = added.cid.text;
        } finally {
          pool.release(bytes);
        }
      };
    });
    const get = await measure(undefined, phase, (k) => async () => {
      const got = await cas.get(cids[k]);
      let n = 0;
      for await (const c of got!.stream) n += c.length;
      return n;
    }, { ok: (n) => n === pool.size });
    return { add: asMBps(add, pool.size), get: asMBps(get, pool.size) };
  } finally {
    store.kv.close();
  }
}
