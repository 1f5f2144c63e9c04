/**
 * The CAS's repository: which content was added to the CAS, and where it
 * is. Content small enough is kept in its entry (one KV value, one commit
 * to add, one read to serve); larger content is a blob of the shared blob
 * store (blob_store.ts, by its sha256), on which the entry holds a
 * reference, so the gateway's blob collector never deletes it.
 *
 * | key                  | value (storage/cas_entry.ts)                              |
 * | -------------------- | --------------------------------------------------------- |
 * | ["cas","e",sha256]   | size, added ms, and the content if ≤ INLINE_MAX_BYTES     |
 *
 * sha256 = 32 raw bytes. An entry is written in one commit, checked to be
 * new, with its blob's reference, after the blob is whole: content is in
 * the CAS only once all of it is committed, and adding it again (or twice
 * at once, from any process) leaves one entry and at most one reference.
 */
import { concat, toHex0x } from "../lib/bytes.ts";
import { BusyError, ConflictError, TooLargeError } from "../lib/errors.ts";
import { prefixed } from "../protocols/cas/prefixed.ts";
import {
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  resolveRange,
} from "./blob_store.ts";
import { type CasEntry, decodeEntry, encodeEntry, INLINE_MAX_BYTES } from "./cas_entry.ts";
import { commit, type Store } from "./kv.ts";

const entryKey = (digest: Uint8Array): Deno.KvKey => ["cas", "e", digest];

/** How often an add looks again when its commit lost a race. */
const MAX_ATTEMPTS = 5;

/** Content in the CAS: in its entry (`inline`), or a blob. */
export interface CasRecord extends CasEntry {
  /** sha256 of the content. */
  digest: Uint8Array;
  blob?: BlobInfo;
}

/** The CAS's keys over the shared blob store; see the module comment. */
export class CasRepo {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Stores the stream's bytes and adds them to the CAS. `created` is false
   * when they were in it already. Throws TooLargeError as soon as more
   * than `maxBytes` came, the signal's reason on abort, and ConflictError if
   * a blob was collected before its entry could refer to it (a put slower
   * than the collector's grace period); nothing of the content is kept then.
   */
  async add(
    body: ReadableStream<Uint8Array>,
    options: PutOptions,
  ): Promise<{ record: CasRecord; created: boolean }> {
    options.signal?.throwIfAborted();
    const { head, ended } = await readHead(body, INLINE_MAX_BYTES, options);
    if (ended) return await this.#addInline(head);
    return await this.#addBlob(await this.blobs.put(prefixed(head, body), options));
  }

  /** The content with this sha256, or null when it is not in the CAS. */
  async find(digest: Uint8Array): Promise<CasRecord | null> {
    const e = await this.store.kv.get<Uint8Array>(entryKey(digest));
    if (e.versionstamp === null) return null;
    const entry = decodeEntry(e.value);
    if (entry.inline) return { digest, ...entry };
    const blob = await this.blobs.stat(digest);
    if (!blob) {
      // The entry's reference keeps the blob: this is a broken store, not a missing CID.
      throw new Error(`CAS entry ${toHex0x(digest)} refers to a blob that is gone`);
    }
    return { digest, ...entry, blob };
  }

  /** The bytes of found content, or of a range of them, as a stream read as it is pulled. */
  read(record: CasRecord, range?: ByteRange): ReadableStream<Uint8Array> {
    if (record.blob) return this.blobs.read(record.blob, range);
    const { start, end } = resolveRange(record.size, range);
    const bytes = record.inline!.subarray(start, end + 1);
    return ReadableStream.from(bytes.length ? [bytes] : []);
  }

  async #addInline(content: Uint8Array): Promise<{ record: CasRecord; created: boolean }> {
    // WebCrypto's native SHA-256: ~10× @noble/hashes here (SHA-NI), and content this small
    // is whole in memory anyway.
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", content as Uint8Array<ArrayBuffer>),
    );
    const key = entryKey(digest);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = { size: content.length, addedAt: this.now(), inline: content };
      const res = await commit(this.store, "cas", (op) => {
        op.check({ key, versionstamp: null }).set(key, encodeEntry(entry));
      });
      if (res.ok) return { record: { digest, ...entry }, created: true };
      const found = await this.find(digest);
      if (found) return { record: found, created: false };
    }
    throw new BusyError(`Adding ${toHex0x(digest)} to the CAS conflicted ${MAX_ATTEMPTS} times`);
  }

  async #addBlob(put: BlobInfo & { created: boolean }) {
    if (!put.created) {
      // Stored already: most likely added already, which needs no commit.
      const found = await this.find(put.hash);
      if (found) return { record: found, created: false };
    }
    let blob: BlobInfo = put;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = { size: blob.size, addedAt: this.now() };
      const key = entryKey(blob.hash);
      const res = await commit(this.store, "cas", (op) => {
        op.check({ key, versionstamp: null }).set(key, encodeEntry(entry));
        this.blobs.addRef(op, blob);
      });
      if (res.ok) return { record: { digest: blob.hash, ...entry, blob }, created: true };
      // Added meanwhile (here or by another process), or the blob was collected or stored anew.
      const found = await this.find(blob.hash);
      if (found) return { record: found, created: false };
      const again = await this.blobs.stat(blob.hash);
      if (!again) {
        throw new ConflictError(
          `Content ${toHex0x(blob.hash)} was collected before the CAS referred to it; add it again`,
        );
      }
      blob = again;
    }
    throw new BusyError(`Adding ${toHex0x(blob.hash)} to the CAS conflicted ${MAX_ATTEMPTS} times`);
  }
}

/**
 * Reads whole pieces of `body` until more than `limit` bytes came or it
 * ended, then lets go of it (the rest can still be read from `body`).
 * Throws TooLargeError past `maxBytes`, the signal's reason on abort.
 */
async function readHead(
  body: ReadableStream<Uint8Array>,
  limit: number,
  { maxBytes, signal }: PutOptions,
): Promise<{ head: Uint8Array; ended: boolean }> {
  const reader = body.getReader();
  // Cancelling ends a read that waits on a stalled client; the loop then sees the abort.
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size <= limit) {
      const { value, done } = await reader.read();
      signal?.throwIfAborted();
      if (done) return { head: concat(parts), ended: true };
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(`Content must be a stream of Uint8Array, got ${typeof value}`);
      }
      size += value.length;
      if (size > maxBytes) throw new TooLargeError("Content", size, maxBytes);
      parts.push(value);
    }
    return { head: concat(parts), ended: false };
  } catch (e) {
    reader.cancel(e).catch(() => {});
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}
