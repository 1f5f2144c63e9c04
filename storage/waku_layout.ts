/**
 * Where the Waku store keeps a message (layout 2).
 *
 * | key                                | value                                            |
 * | ---------------------------------- | ------------------------------------------------ |
 * | ["waku","t",timestamp,hash]        | record, trimmed (waku_record.ts): v3 order       |
 * | ["waku","tc",tag(contentTopic),ts,hash] | tag(pubsubTopic): v3 by content topic       |
 * | ["waku","tp",tag(pubsubTopic),ts,hash]  | empty: v3 by pubsub topic; retention        |
 * | ["waku","r",receivedTime,hash]     | timestamp (8 bytes) ‖ tag(contentTopic)          |
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
 * A topic's tag is the first 8 bytes of its SHA-256: in keys it is shorter
 * than most topics (KV keeps every key twice), and filters compare tags
 * while they scan. Pages read the records afterwards and test the topics
 * themselves, so even a collision (none is known) only shortens a page.
 *
 * "h" is written in the publish commit and deleted in retention's, so a
 * cursor or hash lookup is one read, exact at every moment.
 *
 * Receive order is commit order: every publish commit checks "rt" and gives
 * its messages receivedTimes above it, so a message that becomes visible
 * later sorts later, and a beta2 reader paging forward misses nothing.
 */
import { packInt64, unpackInt64 } from "./waku_record.ts";
import { sha256 } from "@noble/hashes/sha2.js";
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
  topicTag(ct),
  ts,
  hash,
];
export const tpKey = (ps: string, ts: bigint, hash: Uint8Array): Deno.KvKey => [
  P,
  "tp",
  topicTag(ps),
  ts,
  hash,
];
export const rKey = (rt: bigint, hash: Uint8Array): Deno.KvKey => [P, "r", rt, hash];
export const hKey = (hash: Uint8Array): Deno.KvKey => [P, "h", hash];
export const counterKey = (pubsubTopic: string): Deno.KvKey => [P, "n", pubsubTopic];
export const chunksPrefix = (hash: Uint8Array): Deno.KvKey => [P, "b", hash];

/** Index prefixes: all messages by time, by content topic, by pubsub topic, by receive time. */
export const T_INDEX: Deno.KvKey = [P, "t"];
export const tcIndex = (ct: string): Deno.KvKey => [P, "tc", topicTag(ct)];
export const tpIndex = (ps: string): Deno.KvKey => [P, "tp", topicTag(ps)];
export const R_INDEX: Deno.KvKey = [P, "r"];
export const COUNTERS: Deno.KvKey = [P, "n"];

export const EMPTY = new Uint8Array(0);

/** Bytes in a topic's tag. */
const TAG_BYTES = 8;
const tags = new Map<string, Uint8Array>();

/** A topic's tag: the first 8 bytes of the SHA-256 of its UTF-8 (remembered for 10,000 topics). */
export function topicTag(topic: string): Uint8Array {
  let tag = tags.get(topic);
  if (tag) return tag;
  tag = sha256(utf8Encode(topic)).subarray(0, TAG_BYTES);
  if (tags.size >= 10_000) tags.clear();
  tags.set(topic, tag);
  return tag;
}

/** Whether `value` ends with one of these tags. */
export function endsWithTag(value: Uint8Array, tags: readonly Uint8Array[]): boolean {
  const at = value.length - TAG_BYTES;
  if (at < 0) return false;
  outer: for (const t of tags) {
    for (let i = 0; i < TAG_BYTES; i++) if (value[at + i] !== t[i]) continue outer;
    return true;
  }
  return false;
}

/** An "r" value: the timestamp, and the tag of the content topic a beta2 filter matches. */
export function receivedValue(ts: bigint, contentTopic: string): Uint8Array {
  const out = new Uint8Array(8 + TAG_BYTES);
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
