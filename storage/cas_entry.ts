/**
 * The value of a CAS entry (storage/cas_repo.ts): the content's size, when
 * it was added, and, for content small enough to share the entry's KV
 * value, the content itself.
 *
 * | version | bytes                                                         |
 * | ------- | ------------------------------------------------------------- |
 * | 1       | 1, size u64, added ms u64: the content is a blob (blob_store) |
 * | 2       | 2, size u64, added ms u64, the content (≤ INLINE_MAX_BYTES)   |
 */
import { MAX_VALUE_BYTES } from "./kv.ts";

/** What an entry says. */
export interface CasEntry {
  size: number;
  /** Milliseconds since the epoch. */
  addedAt: number;
  /** The content, when it is kept in the entry. */
  inline?: Uint8Array;
}

const HEAD_BYTES = 1 + 8 + 8;

/** Largest content kept in its entry: one KV value with the entry's head. */
export const INLINE_MAX_BYTES = MAX_VALUE_BYTES - HEAD_BYTES;

/** Encodes an entry: version 2 when it holds the content, else 1. */
export function encodeEntry(e: CasEntry): Uint8Array {
  const inline = e.inline;
  if (inline && inline.length > INLINE_MAX_BYTES) {
    throw new RangeError(
      `Inline content is at most ${INLINE_MAX_BYTES} bytes, got ${inline.length}`,
    );
  }
  const out = new Uint8Array(HEAD_BYTES + (inline?.length ?? 0));
  const v = new DataView(out.buffer);
  out[0] = inline ? 2 : 1;
  v.setBigUint64(1, BigInt(e.size));
  v.setBigUint64(9, BigInt(e.addedAt));
  if (inline) out.set(inline, HEAD_BYTES);
  return out;
}

/** Decodes an entry; SyntaxError for bytes that are not one. */
export function decodeEntry(bytes: unknown): CasEntry {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEAD_BYTES || !(bytes[0] in VERSIONS)) {
    throw new SyntaxError("CAS entry is not a version 1 or 2 entry");
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const size = Number(v.getBigUint64(1));
  const addedAt = Number(v.getBigUint64(9));
  if (bytes[0] === 1) {
    if (bytes.length !== HEAD_BYTES) throw new SyntaxError("CAS entry of version 1 is too long");
    return { size, addedAt };
  }
  const inline = bytes.subarray(HEAD_BYTES);
  if (inline.length !== size) {
    throw new SyntaxError(`CAS entry holds ${inline.length} bytes of content of ${size}`);
  }
  return { size, addedAt, inline };
}

const VERSIONS = { 1: true, 2: true };
