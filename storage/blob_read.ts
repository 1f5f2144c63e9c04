/**
 * Reading a blob as a stream that fetches its chunks as the consumer pulls,
 * only those a byte range needs. Key layout and lifecycle: blob_store.ts.
 */
import { toHex0x } from "../lib/bytes.ts";
import { NotFoundError } from "../lib/errors.ts";
import { chunkKey } from "./blob_layout.ts";
import type { BlobInfo } from "./blob_put.ts";
import { asStorageError, getMany, type Store } from "./kv.ts";

/**
 * Bytes `start` to `end`, both inclusive as in HTTP's Range; an `end` absent
 * or past the blob's last byte means its last byte.
 */
export interface ByteRange {
  start: number;
  end?: number;
}

/** Chunks fetched per pull (one KV call, KV's getMany maximum); with the batch read ahead, ~1.2 MiB held at most. */
export const READ_BATCH = 10;

/**
 * The inclusive byte range a read covers. Throws RangeError for a range that
 * selects nothing (a start at or past the end, an end before the start): the
 * caller answers that itself (HTTP 416).
 */
export function resolveRange(size: number, range?: ByteRange): { start: number; end: number } {
  if (!range) return { start: 0, end: size - 1 };
  const { start } = range;
  const end = Math.min(range.end ?? size - 1, size - 1);
  if (!Number.isSafeInteger(start) || start < 0 || start >= size) {
    throw new RangeError(`Range start ${start} is outside the blob of ${size} bytes`);
  }
  if (!Number.isSafeInteger(end) || end < start) {
    throw new RangeError(`Range end ${range.end} is before the range start ${start}`);
  }
  return { start, end };
}

/**
 * The bytes of `range` of a blob as a stream. Each pull reads the next few
 * chunks; a cancel stops the reads. If the blob is deleted while it is read
 * (collect() took it: nothing referred to it), the stream errors with a
 * NotFoundError.
 */
export function readBlob(
  store: Store,
  blob: BlobInfo,
  range?: ByteRange,
): ReadableStream<Uint8Array> {
  const { start, end } = resolveRange(blob.size, range);
  const cs = blob.chunkBytes;
  const first = Math.floor(start / cs);
  const last = end < start ? first - 1 : Math.floor(end / cs);
  let next = first;
  let cancelled = false;
  const batch = (from: number, n: number) =>
    getMany<Uint8Array>(
      store,
      Array.from({ length: n }, (_, j) => chunkKey(blob.upload, from + j)),
    );
  let ahead: ReturnType<typeof batch> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (next > last) controller.close();
    },
    async pull(controller) {
      const n = Math.min(READ_BATCH, last - next + 1);
      let entries;
      try {
        entries = await (ahead ?? batch(next, n));
        // The next batch is read while this one is sent: KV and the socket work at once.
        const after = next + n;
        ahead = after <= last ? batch(after, Math.min(READ_BATCH, last - after + 1)) : undefined;
        ahead?.catch(() => {}); // its error, if any, surfaces on the next pull
      } catch (e) {
        throw asStorageError(e);
      }
      if (cancelled) return;
      for (let j = 0; j < n; j++) {
        const i = next + j;
        const value = entries[j].value;
        const expected = Math.min(cs, blob.size - i * cs);
        if (!(value instanceof Uint8Array)) {
          throw new NotFoundError(
            `Blob ${toHex0x(blob.hash)} was deleted while it was read (chunk ${i} is gone)`,
          );
        }
        if (value.length !== expected) {
          throw new Error(
            `Blob ${toHex0x(blob.hash)} chunk ${i} has ${value.length} bytes, expected ${expected}`,
          );
        }
        const from = i === first ? start - i * cs : 0;
        const to = i === last ? end - i * cs + 1 : expected;
        controller.enqueue(from === 0 && to === expected ? value : value.subarray(from, to));
      }
      next += n;
      if (next > last) controller.close();
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
}
