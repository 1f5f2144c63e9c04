/**
 * The MVDS wire format (package `vac.mvds`): a Payload of ACK, OFFER and
 * REQUEST message ids and whole Messages, with the spec's field numbers
 * (5001–5004, 6001–6003; a later reference branch renumbered them 1–4 and
 * broke interop, so these stay).
 *
 * Decoding first walks the wire bytes once to check their structure, wire
 * types, id sizes and list lengths, so that a hostile payload is refused
 * with a SyntaxError naming the field before anything is allocated for it;
 * protobufjs then decodes bytes known to be well formed.
 *
 * @example
 * ```ts
 * const bytes = encodePayload({ ...emptyPayload(), acks: [id] });
 * decodePayload(bytes).acks; // [id]
 * ```
 */
import protobuf from "protobufjs";
import {
  checkPayload,
  DEFAULT_PAYLOAD_LIMITS,
  MESSAGE_ID_BYTES,
  type PayloadLimits,
} from "./payload_limits.ts";

export { DEFAULT_PAYLOAD_LIMITS, MESSAGE_ID_BYTES, type PayloadLimits };

const root = protobuf.Root.fromJSON({
  nested: {
    vac: {
      nested: {
        mvds: {
          nested: {
            Payload: {
              fields: {
                acks: { rule: "repeated", type: "bytes", id: 5001 },
                offers: { rule: "repeated", type: "bytes", id: 5002 },
                requests: { rule: "repeated", type: "bytes", id: 5003 },
                messages: { rule: "repeated", type: "Message", id: 5004 },
              },
            },
            Message: {
              fields: {
                group_id: { type: "bytes", id: 6001 },
                timestamp: { type: "int64", id: 6002 },
                body: { type: "bytes", id: 6003 },
              },
            },
          },
        },
      },
    },
  },
});

export const PayloadType: protobuf.Type = root.lookupType("vac.mvds.Payload");
export const MessageType: protobuf.Type = root.lookupType("vac.mvds.Message");

/**
 * An MVDS message. `timestamp` is Unix seconds as a bigint: the wire's int64
 * goes into the message id byte for byte, so it must round-trip exactly,
 * even for values a number cannot hold.
 */
export interface Message {
  groupId: Uint8Array;
  timestamp: bigint;
  body: Uint8Array;
}

/** One MVDS payload: all records a node sends one peer in one epoch. */
export interface Payload {
  acks: Uint8Array[];
  offers: Uint8Array[];
  requests: Uint8Array[];
  messages: Message[];
}

/** A payload with nothing in it. */
export function emptyPayload(): Payload {
  return { acks: [], offers: [], requests: [], messages: [] };
}

/** Whether a payload carries no record at all. */
export function isEmptyPayload(p: Payload): boolean {
  return !p.acks.length && !p.offers.length && !p.requests.length && !p.messages.length;
}

/**
 * Encodes a Payload. Empty and zero fields of a Message are left out, as a
 * proto3 encoder does, so the bytes match the reference implementation's.
 */
export function encodePayload(p: Payload): Uint8Array {
  const messages = p.messages.map((m) => {
    const o: Record<string, unknown> = {};
    if (m.groupId.length) o.group_id = m.groupId;
    if (m.timestamp !== 0n) o.timestamp = toLong(m.timestamp);
    if (m.body.length) o.body = m.body;
    return o;
  });
  const bytes = PayloadType.encode({
    acks: p.acks,
    offers: p.offers,
    requests: p.requests,
    messages,
  }).finish();
  // protobufjs may hand back a Node Buffer; callers get a plain Uint8Array.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Decodes a Payload. Throws SyntaxError, naming the field, for bytes that
 * are not one (garbage, truncation, wrong wire types, ids that are not 32
 * bytes, lists or fields over `limits`). Absent Message fields are empty /
 * zero, never undefined. Returned bytes are copies, not views of `bytes`.
 */
export function decodePayload(
  bytes: Uint8Array,
  limits: Partial<PayloadLimits> = {},
): Payload {
  checkPayload(bytes, { ...DEFAULT_PAYLOAD_LIMITS, ...limits });
  let d: DecodedPayload;
  try {
    d = PayloadType.decode(bytes) as unknown as DecodedPayload;
  } catch (e) {
    throw new SyntaxError(`Malformed MVDS payload: ${(e as Error).message}`);
  }
  return {
    acks: (d.acks ?? []).map(copyBytes),
    offers: (d.offers ?? []).map(copyBytes),
    requests: (d.requests ?? []).map(copyBytes),
    messages: (d.messages ?? []).map((m) => ({
      groupId: copyBytes(m.group_id),
      timestamp: longToBigInt(m.timestamp),
      body: copyBytes(m.body),
    })),
  };
}

interface DecodedPayload {
  acks?: unknown[];
  offers?: unknown[];
  requests?: unknown[];
  messages?: { group_id?: unknown; timestamp?: unknown; body?: unknown }[];
}

/** A copy of a decoded bytes field; an absent one (protobufjs' shared default) is empty. */
function copyBytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? new Uint8Array(v) : new Uint8Array(0);
}

/** A signed int64 as protobufjs' writer takes it (Long-like bits), never via a lossy number. */
function toLong(v: bigint): { low: number; high: number; unsigned: boolean } {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}

/** A decoded int64 (a Long, a number, or absent) as an exact signed bigint. */
function longToBigInt(v: unknown): bigint {
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : 0n;
  if (typeof v === "bigint") return BigInt.asIntN(64, v);
  if (v && typeof v === "object" && "low" in v && "high" in v) {
    const { low, high } = v as { low: number; high: number };
    return BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0));
  }
  return 0n;
}

// ---- Encoded sizes, for senders that keep payloads within a budget ----

/** Default budget of an encoded payload built by a sender: 1 MiB. */
export const MAX_PAYLOAD_BYTES = 1 << 20;

/** Encoded size of one id in acks, offers or requests: 3-byte key, 1-byte length, 32 bytes. */
export const WIRE_ID_BYTES = 3 + 1 + MESSAGE_ID_BYTES;

/** Bytes of a varint holding `n` (a non-negative integer below 2^64). */
function varintSize(n: bigint | number): number {
  let x = BigInt(n);
  let size = 1;
  while (x >= 128n) {
    x >>= 7n;
    size++;
  }
  return size;
}

/** Encoded size of one Message as an entry of `messages` (key and length included). */
export function messageWireSize(m: Message): number {
  let inner = 0;
  if (m.groupId.length) inner += 3 + varintSize(m.groupId.length) + m.groupId.length;
  if (m.timestamp !== 0n) inner += 3 + varintSize(BigInt.asUintN(64, m.timestamp));
  if (m.body.length) inner += 3 + varintSize(m.body.length) + m.body.length;
  return 3 + varintSize(inner) + inner;
}
