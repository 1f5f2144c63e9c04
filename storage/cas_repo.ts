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
import { addCosts, checkCost, chunkForCommit, commit, setCost, type Store } from "./kv.ts";
import { createHash } from "node:crypto";

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
    const read = await this.readBody(body, options);
    if (read.inline) {
      const [outcome] = await this.addInlineMany([read.inline]);
      if (outcome.status === "rejected") throw outcome.reason;
      return outcome.value;
    }
    return await this.addStream(read.stream, options);
  }

  /**
   * Reads the start of a body: all of it when it fits an entry (`inline`),
   * else a stream of the whole body for addStream. Throws TooLargeError past
   * `maxBytes`, and the signal's reason on abort.
   */
  async readBody(
    body: ReadableStream<Uint8Array>,
    options: PutOptions,
  ): Promise<
    { inline: Uint8Array; stream?: undefined } | {
      inline?: undefined;
      stream: ReadableStream<Uint8Array>;
    }
  > {
    options.signal?.throwIfAborted();
    const { head, ended } = await readHead(body, INLINE_MAX_BYTES, options);
    return ended ? { inline: head } : { stream: prefixed(head, body) };
  }

  /** Adds a body too large to be inline: its blob, then its entry with a reference. */
  async addStream(
    stream: ReadableStream<Uint8Array>,
    options: PutOptions,
  ): Promise<{ record: CasRecord; created: boolean }> {
    // The entry and its reference go in the commit that makes the blob visible.
    let entry: { size: number; addedAt: number } | undefined;
    const put = await this.blobs.put(stream, {
      ...options,
      owner: (hash, size) => {
        entry = { size, addedAt: this.now() };
        return { key: entryKey(hash), value: encodeEntry(entry) };
      },
    });
    if (put.owned && entry) {
      return { record: { digest: put.hash, ...entry, blob: put }, created: true };
    }
    return await this.#addBlob(put);
  }

  /**
   * Adds contents small enough to be inline, as few commits as KV's limits
   * allow (concurrent small adds share them: see CasService); each gets its
   * own outcome. Content in the CAS already, or twice in the batch, is
   * `created: false`.
   */
  async addInlineMany(
    contents: readonly Uint8Array[],
  ): Promise<PromiseSettledResult<{ record: CasRecord; created: boolean }>[]> {
    const items = contents.map((content) => {
      const digest = new Uint8Array(createHash("sha256").update(content).digest());
      return { content, digest, key: entryKey(digest), id: digest.toHex() };
    });
    const first = new Map<string, (typeof items)[number]>();
    for (const it of items) if (!first.has(it.id)) first.set(it.id, it);
    const results = new Map<
      string,
      PromiseSettledResult<{ record: CasRecord; created: boolean }>
    >();
    const unique = [...first.values()];
    const runs = chunkForCommit(unique, this.store.limits, (it) =>
      addCosts(
        checkCost(it.key),
        setCost(
          it.key,
          encodeEntry({ size: it.content.length, addedAt: 0, inline: it.content }).length,
        ),
      ));
    for (const run of runs) {
      try {
        for (const [id, r] of await this.#commitInline(run)) {
          results.set(id, { status: "fulfilled", value: r });
        }
      } catch (e) {
        for (const it of run) results.set(it.id, { status: "rejected", reason: e });
      }
    }
    return items.map((it) => {
      const r = results.get(it.id)!;
      // A repeat within the batch was stored by its first copy.
      if (first.get(it.id) === it || r.status === "rejected") return r;
      return { status: "fulfilled", value: { record: r.value.record, created: false } };
    });
  }

  /** Commits inline entries, checked new; ones found added meanwhile are not created. */
  async #commitInline(
    run: { content: Uint8Array; digest: Uint8Array; key: Deno.KvKey; id: string }[],
  ): Promise<Map<string, { record: CasRecord; created: boolean }>> {
    const out = new Map<string, { record: CasRecord; created: boolean }>();
    let pending = run;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const addedAt = this.now();
      const res = await commit(this.store, "cas", (op) => {
        for (const it of pending) {
          op.check({ key: it.key, versionstamp: null })
            .set(it.key, encodeEntry({ size: it.content.length, addedAt, inline: it.content }));
        }
      });
      if (res.ok) {
        for (const it of pending) {
          out.set(it.id, {
            record: { digest: it.digest, size: it.content.length, addedAt, inline: it.content },
            created: true,
          });
        }
        break;
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new BusyError(`Adding ${pending.length} contents to the CAS kept conflicting`);
      }
      const found = await Promise.all(pending.map((it) => this.find(it.digest)));
      pending = pending.filter((it, j) => {
        const f = found[j];
        if (f) out.set(it.id, { record: f, created: false });
        return !f;
      });
    }
    return out;
  }

  /** The content with this sha256, or null when it is not in the CAS. */
  async find(digest: Uint8Array): Promise<CasRecord | null> {
    // The entry and the blob's manifest in one call: a read's first byte waits on one fewer.
    const [e, manifest] = await this.store.kv.getMany<[Uint8Array, unknown]>([
      entryKey(digest),
      this.blobs.statKey(digest),
    ]);
    if (e.versionstamp === null) return null;
    const entry = decodeEntry(e.value);
    if (entry.inline) return { digest, ...entry };
    const blob = this.blobs.statOf(digest, manifest);
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
