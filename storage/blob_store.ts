/**
 * Streaming content-addressed blobs (SHA-256), shared by content among their
 * owners (the remote-log CAS, BEP) and deleted once nothing refers to them.
 * Unlike blobs.ts (small chunked values inside an owner's commit), a blob
 * here is written from a stream of any size with flat memory, and read back
 * as a stream, whole or by byte range.
 *
 * | key                        | value                                                  |
 * | -------------------------- | ------------------------------------------------------ |
 * | ["blob","m",hash]          | manifest: size, chunk size, upload id, created time    |
 * | ["blob","c",uploadId,i]    | chunk i of an upload (Uint8Array ≤ 60 KiB)             |
 * | ["blob","u",uploadId]      | upload marker: chunks 0..n-1 are owned by no manifest  |
 * | ["blob","r",hash]          | Deno.KvU64: references owners hold (absent = 0)        |
 * | ["blob","z",hash]          | time since which the blob may be unreferenced          |
 *
 * hash = 32 raw bytes, uploadId = 16 random bytes; codecs in blob_layout.ts.
 *
 * Writing (blob_put.ts). Chunks go under a fresh upload id, never under the
 * hash, so concurrent uploads of the same content write disjoint keys. Each
 * batch of chunks (as many as fit a commit, 13 on local KV) is one commit
 * with the upload marker (started, last progress, chunk count); one batch
 * commits while the next is read and hashed. The manifest comes last, in
 * the commit that writes the last chunks and deletes the marker, checked to
 * be new (and sets "z", see below): a reader finds either no blob or all
 * of it, and of racing uploads exactly one wins; the others delete their
 * chunks and return the winner. A blob small enough for one commit needs no
 * marker. A failed put deletes its chunks best-effort;
 * a crashed one leaves the marker, and collect() deletes the chunks once
 * the upload made no progress for the grace period.
 *
 * References. An owner adds one inside its own atomic commit (addRef: a
 * check on the manifest at the versionstamp the owner read, and +1 on the
 * count) and drops it the same way (dropRef: −1, and the "z" time set to
 * now). put() and dropRef set "z"; collect() lists "z" entries past the
 * grace period: a blob whose count is not 0 loses its "z"; one whose count
 * is 0 is deleted (manifest, count, "z") in one commit that checks all three
 * at the versionstamps collect read, and that turns its chunks into a
 * "deleting" upload marker for the chunk pass.
 *
 * Why a reference is never committed to a deleted blob: KV commits are
 * serializable, so addRef's commit and collect's delete are ordered.
 * - addRef first: the count changed (created or summed), so the delete's
 *   check on the count fails; the blob stays with count 1.
 * - delete first: the manifest is gone, so addRef's check on it fails, and
 *   with it the owner's whole commit: its record never points at the blob.
 *   (A later upload of the same content is a new manifest, a new versionstamp.)
 * A dropRef between collect's reads and its commit changes the count and
 * "z", so that delete fails too, and the fresh "z" restarts the grace period.
 * The grace period is what an owner has between put() (or dropRef) and its
 * addRef; an owner slower than that gets a failed commit, never a dangling
 * reference, and puts again.
 *
 * Why collect() never deletes chunks under a put that will finish: before
 * deleting any chunk it rewrites the upload marker (checked), which changes
 * its versionstamp; every commit of a put checks the versionstamp it last
 * wrote, so after that the put can only fail (ConflictError).
 *
 * A read holds no reference: if collect() deletes an unreferenced blob while
 * a stream reads it, the stream errors with NotFoundError.
 *
 * @example
 * ```ts
 * const blobs = new BlobStore(store);
 * const blob = await blobs.put(request.body!, { maxBytes: 64 << 20 });
 * await commit(store, "cas", (op) => blobs.addRef(op.set(ownerKey, record), blob));
 * const got = await blobs.get(blob.hash, { start: 0, end: 1023 });
 * ```
 */
import {
  encodeTime,
  HASH_BYTES,
  manifestKey,
  MINUS_ONE,
  refsKey,
  unrefKey,
} from "./blob_layout.ts";
import { collectBlobs, type CollectStats } from "./blob_collect.ts";
import { type BlobInfo, blobInfo, putBlob, type PutOptions, type PutResult } from "./blob_put.ts";
import { type ByteRange, readBlob, resolveRange } from "./blob_read.ts";
import { addCosts, checkCost, type CommitCost, setCost, type Store, sumCost } from "./kv.ts";

export type { BlobInfo, ByteRange, CollectStats, PutOptions, PutResult };
export { resolveRange };

/** A read under way: the blob, the inclusive range it covers, and its bytes. */
export interface BlobRead {
  blob: BlobInfo;
  start: number;
  end: number;
  stream: ReadableStream<Uint8Array>;
}

/** Options of a BlobStore. */
export interface BlobStoreOptions {
  /** The clock (ms since the epoch) for upload progress and grace periods. */
  now?: () => number;
}

/** Content-addressed blobs in KV; see the module comment for the layout and lifecycle. */
export class BlobStore {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, options: BlobStoreOptions = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
  }

  /** The blob with this SHA-256, or null when there is none. */
  async stat(hash: Uint8Array): Promise<BlobInfo | null> {
    checkHash(hash);
    return this.statOf(hash, await this.#store.kv.get<Uint8Array>(manifestKey(hash)));
  }

  /**
   * The key stat() reads, for an owner that reads it in one call with its
   * own keys (one KV round trip fewer before a blob's first byte); statOf
   * then reads the entry.
   */
  statKey(hash: Uint8Array): Deno.KvKey {
    checkHash(hash);
    return manifestKey(hash);
  }

  /** stat()'s answer from the entry of statKey(hash). */
  statOf(hash: Uint8Array, e: Deno.KvEntryMaybe<unknown>): BlobInfo | null {
    return e.versionstamp === null ? null : blobInfo(hash, e.value, e.versionstamp);
  }

  /**
   * The blob's bytes (or a range of them, see ByteRange) as a stream that
   * reads chunks as it is pulled; null when there is no such blob. Throws
   * RangeError for a range that selects nothing.
   */
  async get(hash: Uint8Array, range?: ByteRange): Promise<BlobRead | null> {
    const blob = await this.stat(hash);
    if (!blob) return null;
    return { blob, ...resolveRange(blob.size, range), stream: this.read(blob, range) };
  }

  /** A stream of a blob that stat() returned, e.g. after the caller resolved its Range. */
  read(blob: BlobInfo, range?: ByteRange): ReadableStream<Uint8Array> {
    return readBlob(this.#store, blob, range);
  }

  /**
   * Stores the stream's bytes under their SHA-256 and returns the blob
   * (`created: false` if it was stored already). Throws TooLargeError as
   * soon as more than `maxBytes` arrive, the signal's reason on abort, and
   * ConflictError if the upload stalled so long that collect() took it; in
   * each case its chunks are deleted. The blob is unreferenced: reference it
   * (addRef) within collect()'s grace period, or it is collected; or give
   * `options.owner`, whose entry and reference then go in the put's last
   * commit (`owned: true`).
   */
  put(body: ReadableStream<Uint8Array>, options: PutOptions): Promise<PutResult> {
    return putBlob(this.#store, this.#now, body, options);
  }

  /** The references owners hold to a blob (0 when none or no blob). */
  async references(hash: Uint8Array): Promise<number> {
    checkHash(hash);
    const e = await this.#store.kv.get<Deno.KvU64>(refsKey(hash));
    return e.value instanceof Deno.KvU64 ? Number(BigInt.asIntN(64, e.value.value)) : 0;
  }

  /**
   * Adds a reference to `blob` in the owner's atomic `op` (adds addRefCost):
   * the commit fails if the blob was deleted (or stored anew) since `blob`
   * was read. Returns `op`.
   */
  addRef(
    op: Deno.AtomicOperation,
    blob: Pick<BlobInfo, "hash" | "versionstamp">,
  ): Deno.AtomicOperation {
    checkHash(blob.hash);
    return op
      .check({ key: manifestKey(blob.hash), versionstamp: blob.versionstamp })
      .sum(refsKey(blob.hash), 1n);
  }

  /**
   * Drops a reference the owner added, in its atomic `op` (adds
   * dropRefCost); at count 0 the blob is collected after the grace period.
   * Only drop what was added: a count below zero keeps the blob forever.
   */
  dropRef(op: Deno.AtomicOperation, hash: Uint8Array): Deno.AtomicOperation {
    checkHash(hash);
    return op.sum(refsKey(hash), MINUS_ONE).set(unrefKey(hash), encodeTime(this.#now()));
  }

  /**
   * Deletes blobs unreferenced for longer than `graceMs` and the chunks of
   * uploads that made no progress for as long. Safe beside concurrent puts,
   * references and other collect() passes (in this or another process).
   */
  collect({ graceMs }: { graceMs: number }): Promise<CollectStats> {
    return collectBlobs(this.#store, this.#now(), graceMs);
  }
}

/** What BlobStore.addRef adds to a commit. */
export function addRefCost(hash: Uint8Array): CommitCost {
  return addCosts(checkCost(manifestKey(hash)), sumCost(refsKey(hash)));
}

/** What BlobStore.dropRef adds to a commit. */
export function dropRefCost(hash: Uint8Array): CommitCost {
  return addCosts(sumCost(refsKey(hash)), setCost(unrefKey(hash), 8));
}

function checkHash(hash: Uint8Array): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) {
    throw new TypeError(`Blob hash must be ${HASH_BYTES} bytes, got ${hash?.length}`);
  }
}
