/**
 * WakuMessage (RFC 14) and its deterministic message hash.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, int64BE } from "../../lib/bytes.ts";
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

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** True when a bigint fits a signed 64-bit field. */
export function isInt64(v: bigint): boolean {
  return v >= INT64_MIN && v <= INT64_MAX;
}

const encoder = new TextEncoder();

/**
 * The deterministic message hash of RFC 14: sha256 over pubsub topic ‖
 * payload ‖ content topic ‖ meta ‖ timestamp (8 bytes, big-endian).
 */
export function messageHash(pubsubTopic: string, msg: WakuMessage): Uint8Array {
  return sha256(concat([
    encoder.encode(pubsubTopic),
    msg.payload,
    encoder.encode(msg.contentTopic),
    msg.meta ?? new Uint8Array(0),
    int64BE(msg.timestamp),
  ]));
}

/** Plain object for protobufjs; unset optional fields stay off the wire. */
export function toProtoObject(msg: WakuMessage): Record<string, unknown> {
  const o: Record<string, unknown> = {
    payload: msg.payload,
    contentTopic: msg.contentTopic,
    version: msg.version,
    timestamp: msg.timestamp.toString(),
  };
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
