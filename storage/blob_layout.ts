/**
 * The keys and values of the content-addressed blob store; the table of its
 * key layout and why it is safe are in blob_store.ts. Values are raw bytes
 * (big-endian integers), so KV stores them as they are.
 */
import {
  addCosts,
  checkCost,
  type CommitCost,
  deleteCost,
  MAX_VALUE_BYTES,
  setCost,
  sumCost,
} from "./kv.ts";

const P = "blob";

/** Bytes of a blob's hash (SHA-256). */
export const HASH_BYTES = 32;

/** Bytes of an upload id (random). */
export const UPLOAD_ID_BYTES = 16;

/** Bytes a chunk holds (all but a blob's last chunk are this full). */
export const CHUNK_BYTES = MAX_VALUE_BYTES;

/** Where a blob's manifest is: the one key that makes it readable. */
export const manifestKey = (hash: Uint8Array): Deno.KvKey => [P, "m", hash];

/** Where chunk `i` of an upload is. */
export const chunkKey = (upload: Uint8Array, i: number): Deno.KvKey => [P, "c", upload, i];

/** Where an upload's marker is, while its chunks are not owned by a manifest. */
export const uploadKey = (upload: Uint8Array): Deno.KvKey => [P, "u", upload];

/** Where a blob's reference count (Deno.KvU64) is. */
export const refsKey = (hash: Uint8Array): Deno.KvKey => [P, "r", hash];

/** Where a blob's "maybe unreferenced since" time is. */
export const unrefKey = (hash: Uint8Array): Deno.KvKey => [P, "z", hash];

/** Prefix of all upload markers. */
export const UPLOADS: Deno.KvKey = [P, "u"];

/** Prefix of all "maybe unreferenced" markers. */
export const UNREFS: Deno.KvKey = [P, "z"];

/** Adding 2^64 − 1 to a Deno.KvU64 subtracts one (KV's sum wraps). */
export const MINUS_ONE = 0xffff_ffff_ffff_ffffn;

/** What a manifest says: the blob's size and where its chunks are. */
export interface Manifest {
  size: number;
  chunkBytes: number;
  upload: Uint8Array;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** Manifest: version 1, size u64, chunk bytes u32, upload id, created ms u64. */
export const MANIFEST_BYTES = 1 + 8 + 4 + UPLOAD_ID_BYTES + 8;

/** Encodes a manifest value. */
export function encodeManifest(m: Manifest): Uint8Array {
  const out = new Uint8Array(MANIFEST_BYTES);
  const v = new DataView(out.buffer);
  out[0] = 1;
  v.setBigUint64(1, BigInt(m.size));
  v.setUint32(9, m.chunkBytes);
  out.set(m.upload, 13);
  v.setBigUint64(13 + UPLOAD_ID_BYTES, BigInt(m.createdAt));
  return out;
}

/** Decodes a manifest value; throws SyntaxError on bytes that are not one. */
export function decodeManifest(bytes: unknown): Manifest {
  if (!(bytes instanceof Uint8Array) || bytes.length !== MANIFEST_BYTES || bytes[0] !== 1) {
    throw new SyntaxError(`Blob manifest is not a version 1 manifest of ${MANIFEST_BYTES} bytes`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    size: Number(v.getBigUint64(1)),
    chunkBytes: v.getUint32(9),
    upload: bytes.slice(13, 13 + UPLOAD_ID_BYTES),
    createdAt: Number(v.getBigUint64(13 + UPLOAD_ID_BYTES)),
  };
}

/**
 * An upload marker: chunks `0..chunks-1` of its upload belong to no manifest.
 * "writing" while a put runs (updatedAt = its last commit); "deleting" once
 * the blob that owned them was collected.
 */
export interface UploadMarker {
  state: "writing" | "deleting";
  startedAt: number;
  updatedAt: number;
  chunks: number;
}

/** Marker: version 1, state (0 writing, 1 deleting), started ms u64, updated ms u64, chunks u32. */
export const MARKER_BYTES = 1 + 1 + 8 + 8 + 4;

/** Encodes an upload marker value. */
export function encodeMarker(m: UploadMarker): Uint8Array {
  const out = new Uint8Array(MARKER_BYTES);
  const v = new DataView(out.buffer);
  out[0] = 1;
  out[1] = m.state === "writing" ? 0 : 1;
  v.setBigUint64(2, BigInt(m.startedAt));
  v.setBigUint64(10, BigInt(m.updatedAt));
  v.setUint32(18, m.chunks);
  return out;
}

/** Decodes an upload marker value; throws SyntaxError on bytes that are not one. */
export function decodeMarker(bytes: unknown): UploadMarker {
  if (!(bytes instanceof Uint8Array) || bytes.length !== MARKER_BYTES || bytes[0] !== 1) {
    throw new SyntaxError(`Upload marker is not a version 1 marker of ${MARKER_BYTES} bytes`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    state: bytes[1] === 0 ? "writing" : "deleting",
    startedAt: Number(v.getBigUint64(2)),
    updatedAt: Number(v.getBigUint64(10)),
    chunks: v.getUint32(18),
  };
}

/** Encodes a time (ms since the epoch) as 8 bytes. */
export function encodeTime(ms: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(ms));
  return out;
}

/** Decodes a time written by encodeTime; throws SyntaxError on anything else. */
export function decodeTime(bytes: unknown): number {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 8) {
    throw new SyntaxError("Blob time marker is not 8 bytes");
  }
  return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0));
}

// The largest key a hash can make: KV's key codec escapes every 0x00 byte as two.
const WORST_HASH = new Uint8Array(HASH_BYTES);
const WORST_UPLOAD = new Uint8Array(UPLOAD_ID_BYTES);

/** The largest owner entry a put writes in its last commit (PutOptions.owner): key and value bytes. */
export const MAX_OWNER_KEY_BYTES = 128, MAX_OWNER_VALUE_BYTES = 128;

/** What an owner's entry adds to the last commit, at most: its check, its set, the reference. */
export const OWNER_OVERHEAD: CommitCost = addCosts(
  { mutations: 0, checks: 1, bytes: MAX_OWNER_KEY_BYTES, keyBytes: 0 },
  {
    mutations: 1,
    checks: 0,
    bytes: 2 * MAX_OWNER_KEY_BYTES + MAX_OWNER_VALUE_BYTES,
    keyBytes: MAX_OWNER_KEY_BYTES,
  },
  sumCost(refsKey(WORST_HASH)),
);

/**
 * What a put adds to a commit beside its chunks, at most: its marker's
 * check and set (a batch), or the manifest's check and set, the "maybe
 * unreferenced" marker and the upload marker's check and delete (the last commit).
 */
export const PUT_OVERHEAD: CommitCost = addCosts(
  checkCost(uploadKey(WORST_UPLOAD)),
  setCost(uploadKey(WORST_UPLOAD), MARKER_BYTES),
  checkCost(manifestKey(WORST_HASH)),
  setCost(manifestKey(WORST_HASH), MANIFEST_BYTES),
  setCost(unrefKey(WORST_HASH), 8),
  deleteCost(uploadKey(WORST_UPLOAD)),
);
