/**
 * The value the Waku repository stores for a message in its timestamp
 * indexes: the message in a compact binary form of the store's own (routes
 * render nwaku's JSON from it; a hash-only answer reads the hash at a fixed
 * place without decoding).
 *
 * | bytes     | meaning                                                         |
 * | --------- | --------------------------------------------------------------- |
 * | 0         | tag: 3 = payload inline; 4 = payload in chunks (blobs.ts) under |
 * |           | the message hash; 5 = payload in the shared blob store          |
 * | 1–8       | receivedTime (Unix ns, int64 big-endian)                        |
 * | 9–40      | message hash                                                    |
 * | 41–48     | timestamp (Unix ns, int64 big-endian)                           |
 * | 49–52     | version (u32 big-endian)                                        |
 * | 53        | flags: bit 0 = ephemeral                                        |
 * | then      | pubsub topic, content topic, meta, rate_limit_proof: each a u16 |
 * |           | big-endian length and its bytes (topics UTF-8)                  |
 * | then      | payload: a u32 big-endian length, then (tag 3) its bytes or     |
 * |           | (tag 5) its SHA-256, the blob's address in blob_store.ts        |
 *
 * The store keeps a record without bytes 9–48 (hash and timestamp: its key
 * has them), tag + 16 (trimRecord); expandRecord puts them back.
 *
 * Tags 1 and 2 are the earlier layout (a header, then the store entry as
 * nwaku's JSON, payload in a blob with tag 2): still read, never written.
 */
import { fromBase64, fromHex0x, utf8Encode } from "../lib/bytes.ts";
import { parseJsonExact } from "../lib/json_exact.ts";
import type { WakuMessage } from "../protocols/waku/message.ts";

/** A message as the store keeps it. receivedTime is Unix nanoseconds. */
export interface StoredMessage {
  hash: Uint8Array;
  pubsubTopic: string;
  receivedTime: bigint;
  message: WakuMessage;
}

export const TAG_INLINE = 3;
export const TAG_BLOB = 4;
export const TAG_SHARED_BLOB = 5;
const LEGACY_JSON = 1;
const LEGACY_JSON_BLOB = 2;
const FIXED = 54;
const decoder = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);

/**
 * Where a record's payload is, when not inline: "chunks" under the message
 * hash, or the shared blob store's blob of this SHA-256.
 */
export type PayloadPlace = "chunks" | { sha256: Uint8Array };

/** Encodes a record; with `blob` the payload's bytes are left out (its size, and address, kept). */
export function encodeRecord(rec: StoredMessage, blob?: PayloadPlace): Uint8Array {
  const m = rec.message;
  const fields = [utf8Encode(rec.pubsubTopic), utf8Encode(m.contentTopic), m.meta ?? EMPTY];
  fields.push(m.rateLimitProof ?? EMPTY);
  const tail = blob === undefined ? m.payload : blob === "chunks" ? EMPTY : blob.sha256;
  let size = FIXED + 4 + tail.length;
  for (const f of fields) size += 2 + f.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = blob === undefined ? TAG_INLINE : blob === "chunks" ? TAG_BLOB : TAG_SHARED_BLOB;
  setReceivedTime(out, rec.receivedTime);
  out.set(rec.hash, 9);
  view.setBigInt64(41, m.timestamp, false);
  view.setUint32(49, m.version, false);
  out[53] = m.ephemeral ? 1 : 0;
  let at = FIXED;
  for (const f of fields) {
    view.setUint16(at, f.length, false);
    out.set(f, at + 2);
    at += 2 + f.length;
  }
  view.setUint32(at, m.payload.length, false);
  out.set(tail, at + 4);
  return out;
}

/** Tags of trimmed records: the tag + TRIMMED. */
const TRIMMED = 16;
const HASH_AT = 9, TS_END = 49;

/** The record without its hash and timestamp, as the store keeps it beside a key that has them. */
export function trimRecord(value: Uint8Array): Uint8Array {
  if (isLegacy(value) || value[0] & TRIMMED) return value;
  const out = new Uint8Array(value.length - (TS_END - HASH_AT));
  out.set(value.subarray(0, HASH_AT));
  out.set(value.subarray(TS_END), HASH_AT);
  out[0] |= TRIMMED;
  return out;
}

/** A record from what the store keeps (trimmed or not) and its key's timestamp and hash. */
export function expandRecord(stored: Uint8Array, timestamp: bigint, hash: Uint8Array): Uint8Array {
  if (!(stored[0] & TRIMMED) || isLegacy(stored)) return stored;
  const out = new Uint8Array(stored.length + (TS_END - HASH_AT));
  out.set(stored.subarray(0, HASH_AT));
  out[0] &= ~TRIMMED;
  out.set(hash, HASH_AT);
  view(out).setBigInt64(HASH_AT + 32, timestamp, false);
  out.set(stored.subarray(HASH_AT), TS_END);
  return out;
}

/** Sets a current-layout record's receivedTime in place (it is fixed only at commit). */
export function setReceivedTime(value: Uint8Array, receivedTime: bigint): void {
  view(value).setBigInt64(1, receivedTime, false);
}

/** The SHA-256 of a TAG_SHARED_BLOB record's payload, else undefined. */
export function recordSharedBlob(value: Uint8Array): Uint8Array | undefined {
  if (value[0] !== TAG_SHARED_BLOB) return undefined;
  const at = fieldsEnd(value) + 4;
  return value.subarray(at, at + 32);
}

/** The record's tag: TAG_BLOB or TAG_SHARED_BLOB when its payload is kept out of it. */
export function recordTag(value: Uint8Array): number {
  return value[0] === LEGACY_JSON_BLOB
    ? TAG_BLOB
    : value[0] === LEGACY_JSON
    ? TAG_INLINE
    : value[0];
}

/** The record's message hash. */
export function recordHash(value: Uint8Array): Uint8Array {
  if (isLegacy(value)) return decodeRecord(value).hash;
  return value.subarray(9, 41);
}

/** Size of the payload kept out of the record (TAG_BLOB, TAG_SHARED_BLOB), else 0. */
export function recordBlobSize(value: Uint8Array): number {
  if (value[0] === LEGACY_JSON_BLOB) return view(value).getUint32(9, false);
  if (value[0] !== TAG_BLOB && value[0] !== TAG_SHARED_BLOB) return 0;
  return view(value).getUint32(fieldsEnd(value), false);
}

/** Whether the record's pubsub topic is the one given as UTF-8 bytes (no decoding). */
export function recordHasPubsubTopic(value: Uint8Array, topic: Uint8Array): boolean {
  if (isLegacy(value)) return decodeRecord(value).pubsubTopic === decoder.decode(topic);
  // Trimmed or not: the topic is the first field after the fixed part.
  const at = value[0] & TRIMMED ? FIXED - (TS_END - HASH_AT) : FIXED;
  const n = view(value).getUint16(at, false);
  if (n !== topic.length) return false;
  for (let i = 0; i < n; i++) if (value[at + 2 + i] !== topic[i]) return false;
  return true;
}

/**
 * Decodes a record (the payload is empty when kept out of it); throws SyntaxError
 * on malformed bytes. Byte fields are views into `value` (copying them cost
 * more than the rest of decoding): don't change `value` while they are in use.
 */
export function decodeRecord(value: Uint8Array): StoredMessage {
  if (isLegacy(value)) return decodeLegacy(value);
  const tag = value[0];
  if (
    (tag !== TAG_INLINE && tag !== TAG_BLOB && tag !== TAG_SHARED_BLOB) || value.length < FIXED + 12
  ) {
    throw new SyntaxError("Malformed Waku record");
  }
  const v = view(value);
  const fields: Uint8Array[] = [];
  let at = FIXED;
  for (let i = 0; i < 4; i++) {
    if (at + 2 > value.length) throw new SyntaxError("Malformed Waku record: truncated field");
    const n = v.getUint16(at, false);
    if (at + 2 + n > value.length) throw new SyntaxError("Malformed Waku record: truncated field");
    fields.push(value.subarray(at + 2, at + 2 + n));
    at += 2 + n;
  }
  if (at + 4 > value.length) throw new SyntaxError("Malformed Waku record: no payload length");
  const size = v.getUint32(at, false);
  const inline = tag === TAG_INLINE;
  const tail = inline ? size : tag === TAG_SHARED_BLOB ? 32 : 0;
  if (at + 4 + tail !== value.length) {
    throw new SyntaxError("Malformed Waku record: payload length does not match");
  }
  const [topic, contentTopic, meta, proof] = fields;
  const message: WakuMessage = {
    payload: inline ? value.subarray(at + 4) : new Uint8Array(0),
    contentTopic: text(contentTopic),
    version: v.getUint32(49, false),
    timestamp: v.getBigInt64(41, false),
  };
  if (meta.length) message.meta = meta;
  if (proof.length) message.rateLimitProof = proof;
  if (value[53] & 1) message.ephemeral = true;
  return {
    hash: value.subarray(9, 41),
    pubsubTopic: text(topic),
    receivedTime: v.getBigInt64(1, false),
    message,
  };
}

function text(bytes: Uint8Array): string {
  // Topics are short and nearly always ASCII: built here, as TextDecoder.decode is a call into
  // the runtime that cost more than the rest of a record's decoding.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) (ascii = false), i = bytes.length;
  if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  try {
    return decoder.decode(bytes);
  } catch {
    throw new SyntaxError("Malformed Waku record: a topic is not UTF-8");
  }
}

const view = (value: Uint8Array) => new DataView(value.buffer, value.byteOffset, value.byteLength);
const isLegacy = (value: Uint8Array) => value[0] === LEGACY_JSON || value[0] === LEGACY_JSON_BLOB;

/** Where the four length-prefixed fields end (the payload length starts). */
function fieldsEnd(value: Uint8Array): number {
  const v = view(value);
  let at = FIXED;
  for (let i = 0; i < 4; i++) at += 2 + v.getUint16(at, false);
  return at;
}

/** The earlier layout: a 9-byte header (13 with a blob), then the store entry as JSON. */
function decodeLegacy(value: Uint8Array): StoredMessage {
  const header = value[0] === LEGACY_JSON_BLOB ? 13 : 9;
  if (value.length < header + 2) throw new SyntaxError("Malformed Waku record");
  let e;
  try {
    e = parseJsonExact(decoder.decode(value.subarray(header)), ["timestamp"]) as {
      messageHash: string;
      pubsubTopic: string;
      message: {
        payload: string;
        contentTopic: string;
        version: number;
        timestamp: string | number;
        meta?: string;
        ephemeral?: boolean;
        proof?: string;
      };
    };
  } catch (err) {
    throw new SyntaxError(`Malformed Waku record: ${(err as Error).message}`);
  }
  const m = e?.message;
  if (typeof m !== "object" || m === null) throw new SyntaxError("Malformed Waku record");
  const message: WakuMessage = {
    payload: fromBase64(m.payload),
    contentTopic: m.contentTopic,
    version: m.version,
    timestamp: BigInt(m.timestamp),
  };
  if (m.meta) message.meta = fromBase64(m.meta);
  if (m.ephemeral) message.ephemeral = true;
  if (m.proof) message.rateLimitProof = fromBase64(m.proof);
  return {
    hash: fromHex0x(e.messageHash),
    pubsubTopic: e.pubsubTopic,
    receivedTime: view(value).getBigInt64(1, false),
    message,
  };
}

/** An int64 as 8 big-endian bytes, the small index values. */
export function packInt64(...values: bigint[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, v, false));
  return out;
}

/** Reads the int64s written by packInt64. */
export function unpackInt64(bytes: Uint8Array): bigint[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from(
    { length: Math.floor(bytes.length / 8) },
    (_, i) => view.getBigInt64(8 * i, false),
  );
}
