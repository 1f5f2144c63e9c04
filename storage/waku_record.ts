/**
 * The value the Waku repository stores for a message: the message with the
 * store's own facts about it (hash, pubsub topic, receive time). Encoded as
 * protobuf so that one KV value holds it compactly and decodes fast.
 */
import protobuf from "protobufjs";
import {
  bytesField,
  decodeWakuMessage,
  encodeWakuMessage,
  type WakuMessage,
} from "../protocols/waku/message.ts";
import { type Int64Like, toBigInt } from "../protocols/waku/proto.ts";

/** A message as the store keeps it. receivedTime is Unix nanoseconds. */
export interface StoredMessage {
  hash: Uint8Array;
  pubsubTopic: string;
  receivedTime: bigint;
  message: WakuMessage;
}

const StoredMessageType = new protobuf.Type("StoredMessage")
  .add(new protobuf.Field("hash", 1, "bytes"))
  .add(new protobuf.Field("pubsubTopic", 2, "string"))
  .add(new protobuf.Field("receivedTime", 3, "sint64"))
  .add(new protobuf.Field("message", 4, "bytes"))
  .add(new protobuf.Field("blobSize", 5, "uint32"));
new protobuf.Root().add(StoredMessageType);

/**
 * Encodes a record. With `payloadInBlob`, the payload is left out and its
 * size recorded, because the payload lives in a chunked blob.
 */
export function encodeRecord(rec: StoredMessage, payloadInBlob = false): Uint8Array {
  const message = encodeWakuMessage(
    payloadInBlob ? { ...rec.message, payload: new Uint8Array(0) } : rec.message,
  );
  return StoredMessageType.encode({
    hash: rec.hash,
    pubsubTopic: rec.pubsubTopic,
    receivedTime: rec.receivedTime.toString(),
    message,
    blobSize: payloadInBlob ? rec.message.payload.length : 0,
  }).finish();
}

/** A decoded record; blobSize > 0 means the payload must be read from the blob. */
export interface DecodedRecord extends StoredMessage {
  blobSize: number;
}

/** Decodes a record written by encodeRecord. */
export function decodeRecord(bytes: Uint8Array): DecodedRecord {
  const d = StoredMessageType.decode(bytes) as unknown as {
    hash: Uint8Array;
    pubsubTopic: string;
    receivedTime: Int64Like;
    message: Uint8Array;
    blobSize: number;
  };
  return {
    hash: bytesField(d.hash),
    pubsubTopic: d.pubsubTopic,
    receivedTime: toBigInt(d.receivedTime),
    message: decodeWakuMessage(bytesField(d.message)),
    blobSize: d.blobSize,
  };
}
