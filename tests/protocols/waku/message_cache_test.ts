/**
 * The polling cache (nwaku's message_cache.nim semantics) and the store
 * entries it is fed from.
 */
import assert from "node:assert/strict";
import { parseStoreEntry } from "../../../protocols/waku/entry_json.ts";
import { type Cached, MessageCache } from "../../../protocols/waku/message_cache.ts";
import { messageHash, type WakuMessage } from "../../../protocols/waku/message.ts";
import { storeEntryToJson } from "../../../protocols/waku/rest_json.ts";

const item = (
  hash: string,
  timestamp: number,
  pubsubTopic = "/p",
  contentTopic = "/c",
): Cached => ({
  hash,
  pubsubTopic,
  contentTopic,
  timestamp: BigInt(timestamp),
});

Deno.test("a full cache drops the message with the oldest timestamp, not the oldest arrival", () => {
  const cache = new MessageCache(3);
  cache.add(item("a", 20));
  cache.add(item("b", 10));
  cache.add(item("c", 30));
  cache.add(item("d", 5));
  assert.equal(cache.size, 3);
  assert.deepEqual(cache.take(() => true).map((m) => m.hash), ["a", "c", "d"]);
});

Deno.test("the same message twice is held once; a poll takes only what it asks for, in arrival order", () => {
  const cache = new MessageCache(10);
  assert.equal(cache.add(item("a", 1, "/p1", "/x")), true);
  assert.equal(cache.add(item("a", 1, "/p1", "/x")), false);
  cache.add(item("b", 2, "/p2", "/x"));
  cache.add(item("c", 3, "/p1", "/y"));
  assert.deepEqual(cache.take((m) => m.pubsubTopic === "/p1").map((m) => m.hash), ["a", "c"]);
  assert.deepEqual(cache.take((m) => m.pubsubTopic === "/p1"), [], "taken: the next poll is empty");
  assert.equal(cache.add(item("a", 1)), true, "a taken message may come again");
  assert.equal(cache.retain((m) => m.contentTopic === "/x" || m.hash === "a"), 0);
  assert.equal(cache.retain((m) => m.hash !== "b"), 1);
  assert.deepEqual(cache.take(() => true).map((m) => m.hash), ["a"]);
});

Deno.test("capacity must be a whole number above 0", () => {
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => new MessageCache(bad), RangeError);
});

Deno.test("parseStoreEntry reads back storeEntryToJson exactly, int64 timestamp included", () => {
  const message: WakuMessage = {
    payload: new Uint8Array([1, 2, 3]),
    contentTopic: "/app/1/chat/proto",
    version: 1,
    timestamp: 1732000000000000001n,
    meta: new Uint8Array([9]),
    rateLimitProof: new Uint8Array(330).fill(7),
    ephemeral: true,
  };
  const hash = messageHash("/waku/2/rs/0/0", message);
  const entry = parseStoreEntry(storeEntryToJson(hash, "/waku/2/rs/0/0", message, true));
  assert.deepEqual(entry, { hash, pubsubTopic: "/waku/2/rs/0/0", message });
  const bare = { payload: new Uint8Array(0), contentTopic: "/x", version: 0, timestamp: -5n };
  assert.deepEqual(parseStoreEntry(storeEntryToJson(hash, "/p", bare, true)).message, bare);
  assert.throws(() => parseStoreEntry(storeEntryToJson(hash, "/p", bare, false)), SyntaxError);
  assert.throws(() => parseStoreEntry("{"), SyntaxError);
});
