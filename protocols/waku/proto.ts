/**
 * The protobuf schema of Waku messages (RFC 14) and of the store protocol
 * 2.0.0-beta2, with the field numbers of the specs. Reflection types from
 * protobufjs; the codecs beside this file wrap them with validation.
 */
import protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
  nested: {
    WakuMessage: {
      fields: {
        payload: { type: "bytes", id: 1 },
        contentTopic: { type: "string", id: 2 },
        version: { type: "uint32", id: 3 },
        timestamp: { type: "sint64", id: 10 },
        meta: { type: "bytes", id: 11 },
        rateLimitProof: { type: "bytes", id: 21 },
        ephemeral: { type: "bool", id: 31 },
      },
    },
    Index: {
      fields: {
        digest: { type: "bytes", id: 1 },
        receivedTime: { type: "float", id: 2 },
      },
    },
    PagingInfo: {
      fields: {
        pageSize: { type: "int64", id: 1 },
        cursor: { type: "Index", id: 2 },
        direction: { type: "Direction", id: 3 },
      },
      nested: { Direction: { values: { FORWARD: 0, BACKWARD: 1 } } },
    },
    HistoryQuery: {
      fields: {
        topics: { rule: "repeated", type: "string", id: 2 },
        pagingInfo: { type: "PagingInfo", id: 3 },
      },
    },
    HistoryResponse: {
      fields: {
        messages: { rule: "repeated", type: "WakuMessage", id: 2 },
        pagingInfo: { type: "PagingInfo", id: 3 },
      },
    },
    HistoryRPC: {
      fields: {
        requestId: { type: "string", id: 1 },
        query: { type: "HistoryQuery", id: 2 },
        response: { type: "HistoryResponse", id: 3 },
      },
    },
  },
});

export const WakuMessageType = root.lookupType("WakuMessage");
export const HistoryRPCType = root.lookupType("HistoryRPC");

/** A protobufjs 64-bit value (Long) or a plain number, as decode returns them. */
export type Int64Like = number | { low: number; high: number; unsigned?: boolean };

/** Converts a decoded 64-bit field to a bigint without losing precision. */
export function toBigInt(value: Int64Like | null | undefined, signed = true): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === "number") return BigInt(value);
  const big = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return signed && !value.unsigned ? BigInt.asIntN(64, big) : big;
}
