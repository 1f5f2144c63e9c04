/**
 * An estimate of the KV bytes of per-peer sync state, until the service's
 * own layout can be measured in KV (the lead replaces this with that
 * measurement). Assumed layout, one node's state for one peer and message:
 *
 * | key                                          | value                                  |
 * | -------------------------------------------- | -------------------------------------- |
 * | ["mvds","r",node,peer,id]                    | V8-serialized {type,sendCount,sendEpoch} |
 * | ["mvds","d",node,peer,sendEpoch,id]          | empty: the due index a ticker scans    |
 *
 * node, peer and id are 32-byte Uint8Arrays; sendEpoch a number. Key sizes
 * are Deno KV's key encoding (storage/kv.ts `keySize`, what commit budgets
 * count); values are `node:v8` serialization, close to what Deno KV stores
 * for an object. SQLite's own row overhead is not counted. The message
 * itself (["mvds","m",node,id] → group id, timestamp, body) is kept after
 * delivery too, so it is reported apart from the sync state.
 */
import v8 from "node:v8";
import { keySize } from "../../storage/kv.ts";
import type { SyncRecord } from "../../protocols/mvds/record.ts";

const ID = new Uint8Array(32).fill(0xa5);

/** Bytes of one record (its key and value, and its due-index key). */
export function recordBytes(r: Pick<SyncRecord, "type" | "sendCount" | "sendEpoch">): {
  record: number;
  dueIndex: number;
  total: number;
} {
  const value = v8.serialize({ type: r.type, sendCount: r.sendCount, sendEpoch: r.sendEpoch });
  const record = keySize(["mvds", "r", ID, ID, ID]) + value.length;
  const dueIndex = keySize(["mvds", "d", ID, ID, r.sendEpoch, ID]);
  return { record, dueIndex, total: record + dueIndex };
}

/** Bytes of a stored message: key plus V8-serialized {groupId, timestamp, body}. */
export function messageBytes(groupIdBytes: number, bodyBytes: number): number {
  const value = v8.serialize({
    groupId: new Uint8Array(groupIdBytes),
    timestamp: 1_700_000_000n,
    body: new Uint8Array(bodyBytes),
  });
  return keySize(["mvds", "m", ID, ID]) + value.length;
}
