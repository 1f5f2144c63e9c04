/**
 * MVDS message identifiers: sha256 over the ASCII bytes `MESSAGE_ID`, the
 * group_id as raw bytes, the timestamp as 8 bytes little-endian two's
 * complement, then the body, exactly as the reference implementation hashes
 * them. An id is always recomputed from a message's fields, never taken
 * from the wire.
 *
 * @example
 * ```ts
 * const id = messageId({ groupId, timestamp: 1700000000n, body }); // 32 bytes
 * idKey(id); // "9f…" (lower-case hex, for map keys)
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { Message } from "./proto.ts";

const PREFIX = new TextEncoder().encode("MESSAGE_ID");

/** The 32-byte id of a message. */
export function messageId(m: Message): Uint8Array {
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigInt64(0, BigInt.asIntN(64, m.timestamp), true);
  return sha256.create().update(PREFIX).update(m.groupId).update(ts).update(m.body).digest();
}

/**
 * The map key of an id or a group id: its lower-case hex. State is handed
 * to the state machine in maps keyed this way.
 */
export function idKey(id: Uint8Array): string {
  return id.toHex();
}
