/**
 * The value the Waku repository stores for a message in its timestamp
 * indexes: the store entry already rendered as nwaku's JSON, so a page is
 * answered by joining bytes, and live subscribers get the same bytes.
 *
 * | byte  | meaning                                                        |
 * | ----- | -------------------------------------------------------------- |
 * | 0     | 1 = payload inline in the JSON; 2 = payload in a chunked blob  |
 * | 1–8   | receivedTime (Unix ns, int64 big-endian)                       |
 * | 9–12  | with tag 2 only: payload size (u32 big-endian)                 |
 * | then  | UTF-8 JSON `{"messageHash","message":{…},"pubsubTopic"}`       |
 *
 * With tag 2 the JSON's payload is "" and the real payload is in the blob.
 */
import { fromBase64, fromHex0x, utf8Length } from "../lib/bytes.ts";
import type { WakuMessage } from "../protocols/waku/message.ts";
import { parseJsonExact, storeEntryToJson } from "../protocols/waku/rest_json.ts";

/** A message as the store keeps it. receivedTime is Unix nanoseconds. */
export interface StoredMessage {
  hash: Uint8Array;
  pubsubTopic: string;
  receivedTime: bigint;
  message: WakuMessage;
}

export const TAG_INLINE = 1;
export const TAG_BLOB = 2;
const headerSize = (value: Uint8Array) => value[0] === TAG_BLOB ? 13 : 9;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a record; with `payloadInBlob` the JSON leaves the payload out. */
export function encodeRecord(rec: StoredMessage, json: string, payloadInBlob = false): Uint8Array {
  const text = payloadInBlob
    ? storeEntryToJson(
      rec.hash,
      rec.pubsubTopic,
      { ...rec.message, payload: new Uint8Array(0) },
      true,
    )
    : json;
  const header = payloadInBlob ? 13 : 9;
  const out = new Uint8Array(header + utf8Length(text));
  const view = new DataView(out.buffer);
  out[0] = payloadInBlob ? TAG_BLOB : TAG_INLINE;
  view.setBigInt64(1, rec.receivedTime, false);
  if (payloadInBlob) view.setUint32(9, rec.message.payload.length, false);
  encoder.encodeInto(text, out.subarray(header));
  return out;
}

/** The record's tag (TAG_INLINE or TAG_BLOB). */
export function recordTag(value: Uint8Array): number {
  return value[0];
}

/** The record's receive time. */
export function recordReceivedTime(value: Uint8Array): bigint {
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getBigInt64(1, false);
}

/** Size of the payload kept in a blob (tag 2), else 0. */
export function recordBlobSize(value: Uint8Array): number {
  return value[0] === TAG_BLOB
    ? new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(9, false)
    : 0;
}

/** The record's JSON bytes (a store entry with data). */
export function recordJson(value: Uint8Array): Uint8Array {
  return value.subarray(headerSize(value));
}

/** The record as a store entry without data: `{"messageHash":"0x…"}`. */
export function recordHashOnlyJson(value: Uint8Array): Uint8Array {
  const json = recordJson(value);
  // Records are rendered by storeEntryToJson: `{"messageHash":"0x` + 64 hex digits + `"`.
  const out = new Uint8Array(84);
  out.set(json.subarray(0, 83));
  out[83] = 0x7d; // }
  return out;
}

/** Decodes a whole record back into a StoredMessage (the payload is empty for TAG_BLOB). */
export function decodeRecord(value: Uint8Array): StoredMessage {
  if ((value[0] !== TAG_INLINE && value[0] !== TAG_BLOB) || value.length < headerSize(value) + 2) {
    throw new SyntaxError("Malformed Waku record");
  }
  const e = parseJsonExact(decoder.decode(recordJson(value))) as {
    messageHash: string;
    pubsubTopic: string;
    message: {
      payload: string;
      contentTopic: string;
      version: number;
      timestamp: bigint | number;
      meta?: string;
      ephemeral?: boolean;
      proof?: string;
    };
  };
  const m = e.message;
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
    receivedTime: recordReceivedTime(value),
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
