/**
 * Waku Store 2.0.0-beta2 RPC messages (HistoryRPC and its parts) and the
 * paging rules of the spec text, independent of any storage.
 */
import { utf8Length } from "../../lib/bytes.ts";
import { fromProtoObject, toProtoObject, type WakuMessage } from "./message.ts";
import { HistoryRPCType, type Int64Like, toBigInt } from "./proto.ts";

/** Store protocol id, as the spec names it. */
export const STORE_PROTOCOL_ID = "/vac/waku/store/2.0.0-beta2";
/** The threshold the spec lets a node apply to pageSize. */
export const MAX_PAGE_SIZE = 100;
/** Most content topics one query may name (as nwaku). */
export const MAX_QUERY_TOPICS = 10;
/** Longest topic accepted, in UTF-8 bytes (keeps KV keys well under 2 KiB). */
export const MAX_TOPIC_BYTES = 512;

export type Direction = "forward" | "backward";

/** Index: a message's place in the store's order. receivedTime is Unix seconds (float32). */
export interface Index {
  digest: Uint8Array;
  receivedTime: number;
}

export interface PagingInfo {
  pageSize: number;
  cursor?: Index;
  direction: Direction;
}

export interface HistoryQuery {
  topics: string[];
  pagingInfo?: PagingInfo;
}

export interface HistoryResponse {
  messages: WakuMessage[];
  pagingInfo?: PagingInfo;
}

export interface HistoryRPC {
  requestId: string;
  query?: HistoryQuery;
  response?: HistoryResponse;
}

interface DecodedPaging {
  pageSize?: Int64Like;
  cursor?: { digest?: Uint8Array; receivedTime?: number } | null;
  direction?: number;
}

function pagingFromProto(p: DecodedPaging, where: string): PagingInfo {
  const size = toBigInt(p.pageSize ?? 0);
  if (size < 0n) throw new RangeError(`${where}.pageSize must not be negative, got ${size}`);
  if (p.direction !== undefined && p.direction !== 0 && p.direction !== 1) {
    throw new RangeError(
      `${where}.direction must be FORWARD (0) or BACKWARD (1), got ${p.direction}`,
    );
  }
  const info: PagingInfo = {
    pageSize: size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size),
    direction: p.direction === 1 ? "backward" : "forward",
  };
  if (p.cursor) {
    info.cursor = {
      digest: new Uint8Array(p.cursor.digest ?? []),
      receivedTime: p.cursor.receivedTime ?? 0,
    };
  }
  return info;
}

function pagingToProto(p: PagingInfo): Record<string, unknown> {
  const o: Record<string, unknown> = {
    pageSize: p.pageSize,
    direction: p.direction === "backward" ? 1 : 0,
  };
  if (p.cursor) o.cursor = { digest: p.cursor.digest, receivedTime: p.cursor.receivedTime };
  return o;
}

/**
 * Decodes a HistoryRPC. Throws SyntaxError for bytes that are not a
 * HistoryRPC and RangeError for values outside what the spec allows.
 */
export function decodeHistoryRPC(bytes: Uint8Array): HistoryRPC {
  // deno-lint-ignore no-explicit-any
  let d: any;
  try {
    d = HistoryRPCType.decode(bytes);
  } catch (e) {
    throw new SyntaxError(`Malformed HistoryRPC: ${(e as Error).message}`);
  }
  const rpc: HistoryRPC = { requestId: d.requestId ?? "" };
  if (d.query) {
    const topics: string[] = d.query.topics ?? [];
    rpc.query = { topics };
    if (d.query.pagingInfo) {
      rpc.query.pagingInfo = pagingFromProto(d.query.pagingInfo, "query.pagingInfo");
    }
  }
  if (d.response) {
    rpc.response = {
      // deno-lint-ignore no-explicit-any
      messages: (d.response.messages ?? []).map((m: any) => fromProtoObject(m)),
    };
    if (d.response.pagingInfo) {
      rpc.response.pagingInfo = pagingFromProto(d.response.pagingInfo, "response.pagingInfo");
    }
  }
  return rpc;
}

/** Encodes a HistoryRPC. */
export function encodeHistoryRPC(rpc: HistoryRPC): Uint8Array {
  const o: Record<string, unknown> = { requestId: rpc.requestId };
  if (rpc.query) {
    const q: Record<string, unknown> = { topics: rpc.query.topics };
    if (rpc.query.pagingInfo) q.pagingInfo = pagingToProto(rpc.query.pagingInfo);
    o.query = q;
  }
  if (rpc.response) {
    const r: Record<string, unknown> = { messages: rpc.response.messages.map(toProtoObject) };
    if (rpc.response.pagingInfo) r.pagingInfo = pagingToProto(rpc.response.pagingInfo);
    o.response = r;
  }
  return HistoryRPCType.encode(o).finish();
}

/** A store query after the spec's rules are applied. */
export interface PlannedQuery {
  topics: string[];
  pageSize: number;
  direction: Direction;
  cursor?: Uint8Array;
}

/**
 * Applies the spec's paging rules to a query: a page size above the maximum
 * is clamped to it, and 0 ("no pagination") is read as the maximum with a
 * cursor, so no single answer is unbounded. A missing pagingInfo is a
 * forward query from the start. Validates topics and cursor digest.
 */
export function planQuery(q: HistoryQuery): PlannedQuery {
  if (q.topics.length > MAX_QUERY_TOPICS) {
    throw new RangeError(
      `query.topics names ${q.topics.length} topics; at most ${MAX_QUERY_TOPICS} are allowed`,
    );
  }
  for (const t of q.topics) {
    if (t.length === 0) throw new RangeError("query.topics contains an empty topic");
    if (utf8Length(t) > MAX_TOPIC_BYTES) {
      throw new RangeError(`query.topics contains a topic longer than ${MAX_TOPIC_BYTES} bytes`);
    }
  }
  const p = q.pagingInfo;
  const size = p?.pageSize ?? 0;
  if (!Number.isInteger(size) || size < 0) {
    throw new RangeError(`query.pagingInfo.pageSize must be a whole number ≥ 0, got ${size}`);
  }
  const plan: PlannedQuery = {
    topics: [...new Set(q.topics)],
    pageSize: size === 0 || size > MAX_PAGE_SIZE ? MAX_PAGE_SIZE : size,
    direction: p?.direction ?? "forward",
  };
  if (p?.cursor) {
    if (p.cursor.digest.length !== 32) {
      throw new RangeError(
        `query.pagingInfo.cursor.digest must be 32 bytes, got ${p.cursor.digest.length}`,
      );
    }
    plan.cursor = p.cursor.digest;
  }
  return plan;
}

/** Float32 Unix seconds for an Index, from nanoseconds (the spec's float). */
export function receivedTimeSeconds(ns: bigint): number {
  return Math.fround(Number(ns / 1_000_000n) / 1000);
}
