/**
 * WakuMessage (RFC 14) and its deterministic message hash.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { int64BE, utf8Encode, utf8Length } from "../../lib/bytes.ts";
import { type Int64Like, toBigInt, WakuMessageType } from "./proto.ts";

/** A Waku message as RFC 14 defines it; timestamp is Unix nanoseconds. */
export interface WakuMessage {
  payload: Uint8Array;
  contentTopic: string;
  version: number;
  timestamp: bigint;
  meta?: Uint8Array;
  rateLimitProof?: Uint8Array;
  ephemeral?: boolean;
}

/** RFC 14: meta is at most 64 bytes (nwaku's MaxMetaAttrLength). */
export const MAX_META_BYTES = 64;
/**
 * Most rate_limit_proof bytes a message may carry. RFC 14 sets no bound; an
 * RLN proof (RFC 17) is about 330 bytes. The bound keeps a stored record
 * within one KV value when its payload is moved to a blob.
 */
export const MAX_PROOF_BYTES = 1024;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** True when a bigint fits a signed 64-bit field. */
export function isInt64(v: bigint): boolean {
  return v >= INT64_MIN && v <= INT64_MAX;
}

/**
 * The deterministic message hash of RFC 14: sha256 over pubsub topic ‖
 * payload ‖ content topic ‖ meta ‖ timestamp (8 bytes, big-endian).
 */
export function messageHash(pubsubTopic: string, msg: WakuMessage): Uint8Array {
  const h = sha256.create()
    .update(utf8Encode(pubsubTopic))
    .update(msg.payload)
    .update(utf8Encode(msg.contentTopic));
  if (msg.meta) h.update(msg.meta);
  return h.update(int64BE(msg.timestamp)).digest();
}

const varintSize = (n: number | bigint) => {
  let v = BigInt.asUintN(64, BigInt(n));
  let size = 1;
  while (v >= 0x80n) (v >>= 7n), size++;
  return size;
};
const zigzag64 = (v: bigint) => BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
const lenField = (tagBytes: number, len: number) => tagBytes + varintSize(len) + len;

/** The size of encodeWakuMessage(msg), computed without encoding it. */
export function encodedSize(msg: WakuMessage): number {
  let size = 0;
  if (msg.payload.length) size += lenField(1, msg.payload.length);
  if (msg.contentTopic) size += lenField(1, utf8Length(msg.contentTopic));
  if (msg.version) size += 1 + varintSize(msg.version);
  if (msg.timestamp) size += 1 + varintSize(zigzag64(msg.timestamp));
  if (msg.meta?.length) size += lenField(1, msg.meta.length);
  if (msg.rateLimitProof?.length) size += lenField(2, msg.rateLimitProof.length);
  if (msg.ephemeral) size += 3;
  return size;
}

/** Plain object for protobufjs. Fields at their default value stay off the wire (proto3). */
export function toProtoObject(msg: WakuMessage): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (msg.payload.length) o.payload = msg.payload;
  if (msg.contentTopic) o.contentTopic = msg.contentTopic;
  if (msg.version) o.version = msg.version;
  if (msg.timestamp) o.timestamp = msg.timestamp.toString();
  if (msg.meta?.length) o.meta = msg.meta;
  if (msg.rateLimitProof?.length) o.rateLimitProof = msg.rateLimitProof;
  if (msg.ephemeral) o.ephemeral = true;
  return o;
}

/** Encodes a WakuMessage as protobuf. */
export function encodeWakuMessage(msg: WakuMessage): Uint8Array {
  return WakuMessageType.encode(toProtoObject(msg)).finish();
}

interface DecodedWakuMessage {
  payload: Uint8Array;
  contentTopic: string;
  version: number;
  timestamp: Int64Like;
  meta: Uint8Array;
  rateLimitProof: Uint8Array;
  ephemeral: boolean;
}

/** Bytes of a decoded field; protobufjs leaves absent bytes fields as a shared `[]` default. */
export function bytesField(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

/** Converts a protobufjs-decoded WakuMessage into our shape. */
export function fromProtoObject(d: DecodedWakuMessage): WakuMessage {
  const msg: WakuMessage = {
    payload: bytesField(d.payload),
    contentTopic: d.contentTopic ?? "",
    version: d.version ?? 0,
    timestamp: toBigInt(d.timestamp),
  };
  if (d.meta?.length) msg.meta = bytesField(d.meta);
  if (d.rateLimitProof?.length) msg.rateLimitProof = bytesField(d.rateLimitProof);
  if (d.ephemeral) msg.ephemeral = true;
  return msg;
}

/** Decodes a protobuf WakuMessage; throws SyntaxError on malformed bytes. */
export function decodeWakuMessage(bytes: Uint8Array): WakuMessage {
  try {
    return fromProtoObject(WakuMessageType.decode(bytes) as unknown as DecodedWakuMessage);
  } catch (e) {
    throw new SyntaxError(`Malformed WakuMessage: ${(e as Error).message}`);
  }
}
