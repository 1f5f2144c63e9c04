/**
 * One MVDS `Message` (group_id 6001, timestamp 6002, body 6003) on its own,
 * outside a Payload: what a node uploads to its remote log, so that a
 * reader can recompute the message id from the bytes it fetched.
 *
 * Both directions go through the Payload codec (proto.ts): a Message's
 * bytes are exactly the value of a Payload's `messages` field, so encoding
 * strips that field's key and length, and decoding puts them back and
 * lets the Payload decoder's checks (structure, wire types, sizes) run.
 *
 * @example
 * ```ts
 * const bytes = encodeMessage({ groupId, timestamp: 1700000000n, body });
 * decodeMessage(bytes); // the same Message; SyntaxError for bytes that are not one
 * ```
 */
import { concat } from "../../lib/bytes.ts";
import { decodePayload, emptyPayload, encodePayload, type Message } from "./proto.ts";

/** The key of the Payload's `messages` field (5004, length-delimited), as a varint. */
const MESSAGES_KEY = varint((5004 << 3) | 2);

/** Encodes a Message as proto3 does (empty and zero fields left out). */
export function encodeMessage(m: Message): Uint8Array {
  const payload = encodePayload({ ...emptyPayload(), messages: [m] });
  // Skip the field key, then the length varint: what is left is the Message.
  let pos = MESSAGES_KEY.length;
  while (payload[pos++] & 0x80) { /* the length's continuation bytes */ }
  return payload.slice(pos);
}

/**
 * Decodes a Message. SyntaxError for bytes that are not one, or whose
 * group_id is longer than `maxGroupIdBytes`; absent fields are empty / zero.
 */
export function decodeMessage(bytes: Uint8Array, opts: { maxGroupIdBytes?: number } = {}): Message {
  const wrapped = concat([MESSAGES_KEY, varint(bytes.length), bytes]);
  const payload = decodePayload(wrapped, {
    maxMessages: 1,
    ...(opts.maxGroupIdBytes !== undefined ? { maxGroupIdBytes: opts.maxGroupIdBytes } : {}),
  });
  return payload.messages[0];
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return new Uint8Array(out);
}
