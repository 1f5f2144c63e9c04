/**
 * Where the Waku store keeps a message (layout 2).
 *
 * | key                                | value                                            |
 * | ---------------------------------- | ------------------------------------------------ |
 * | ["waku","t",timestamp,hash]        | record, trimmed (waku_record.ts): v3 order       |
 * | ["waku","tc",contentTopic,ts,hash] | pubsub topic's tag (4 bytes): v3 by content topic|
 * | ["waku","tp",pubsubTopic,ts,hash]  | empty: v3 by pubsub topic; retention             |
 * | ["waku","r",receivedTime,hash]     | timestamp (8 bytes) ‖ content topic's tag        |
 * | ["waku","h",hash]                  | timestamp ‖ receivedTime (16 bytes)              |
 * | ["waku","n",pubsubTopic]           | Deno.KvU64: messages stored on the topic         |
 * | ["waku","b",hash,i]                | payload chunk i (records of tag 4)               |
 * | ["waku","rt"]                      | the last receivedTime given (8 bytes)            |
 * | ["waku","layout"]                  | Deno.KvU64: 2 (absent in layout 1)               |
 *
 * Content once. A message's record is only in "t"; the other indexes hold
 * what their filters test and pages read the records from "t" by key. That
 * is what keeps the store near 3× the bytes of a bare message log: KV puts
 * every key twice on disk (its table and its expiry index), so five keys and
 * one record measured ~1.2 KB a message of 200 payload bytes, and a second
 * copy of the record in "tc" ~1.6 KB (see BENCHMARKS.md). Reading by key
 * costs more than reading a range (~17 µs a key by getMany against ~8 µs a
 * listed entry), which filtered pages pay.
 *
 * A topic's tag is 4 bytes of a hash of it: filters compare tags while they
 * scan, and the records read afterwards settle the rare false match.
 *
 * "h" is written in the publish commit and deleted in retention's, so a
 * cursor or hash lookup is one read, exact at every moment.
 *
 * Receive order is commit order: every publish commit checks "rt" and gives
 * its messages receivedTimes above it, so a message that becomes visible
 * later sorts later, and a beta2 reader paging forward misses nothing.
 */
import { packInt64, unpackInt64 } from "./waku_record.ts";
import { utf8Encode } from "../lib/bytes.ts";

/** The current layout's number, kept under LAYOUT_KEY. */
export const LAYOUT = 2n;

const P = "waku";
export const LAYOUT_KEY: Deno.KvKey = [P, "layout"];
export const HEAD_KEY: Deno.KvKey = [P, "rt"];

export const tKey = (ts: bigint, hash: Uint8Array): Deno.KvKey => [P, "t", ts, hash];
export const tcKey = (ct: string, ts: bigint, hash: Uint8Array): Deno.KvKey => [
  P,
  "tc",
  ct,
  ts,
  hash,
];
export const tpKey = (ps: string, ts: bigint, hash: Uint8Array): Deno.KvKey => [
  P,
  "tp",
  ps,
  ts,
  hash,
];
export const rKey = (rt: bigint, hash: Uint8Array): Deno.KvKey => [P, "r", rt, hash];
export const hKey = (hash: Uint8Array): Deno.KvKey => [P, "h", hash];
export const counterKey = (pubsubTopic: string): Deno.KvKey => [P, "n", pubsubTopic];
export const chunksPrefix = (hash: Uint8Array): Deno.KvKey => [P, "b", hash];

/** Index prefixes: all messages by time, by content topic, by pubsub topic, by receive time. */
export const T_INDEX: Deno.KvKey = [P, "t"];
export const tcIndex = (ct: string): Deno.KvKey => [P, "tc", ct];
export const tpIndex = (ps: string): Deno.KvKey => [P, "tp", ps];
export const R_INDEX: Deno.KvKey = [P, "r"];
export const COUNTERS: Deno.KvKey = [P, "n"];

export const EMPTY = new Uint8Array(0);

/** A topic's tag: FNV-1a (32 bits) of its UTF-8 bytes, big-endian. */
export function topicTag(topic: string): Uint8Array {
  const bytes = utf8Encode(topic);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, h >>> 0, false);
  return out;
}

/** Whether `value` ends with one of these tags. */
export function endsWithTag(value: Uint8Array, tags: readonly Uint8Array[]): boolean {
  const at = value.length - 4;
  return at >= 0 &&
    tags.some((t) =>
      value[at] === t[0] && value[at + 1] === t[1] && value[at + 2] === t[2] &&
      value[at + 3] === t[3]
    );
}

/** An "r" value: the timestamp, and the tag of the content topic a beta2 filter matches. */
export function receivedValue(ts: bigint, contentTopic: string): Uint8Array {
  const out = new Uint8Array(12);
  out.set(packInt64(ts));
  out.set(topicTag(contentTopic), 8);
  return out;
}

/** The timestamp of an "r" value. */
export const receivedValueTimestamp = (value: Uint8Array): bigint =>
  unpackInt64(value.subarray(0, 8))[0];

/** Where a stored message sits in both orders. */
export interface Located {
  timestamp: bigint;
  receivedTime: bigint;
}

/** An "h" value. */
export const locatedValue = (at: Located): Uint8Array => packInt64(at.timestamp, at.receivedTime);

/** Reads an "h" value. */
export function readLocated(value: Uint8Array): Located {
  const [timestamp, receivedTime] = unpackInt64(value);
  return { timestamp, receivedTime };
}
