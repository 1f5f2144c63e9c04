import assert from "node:assert/strict";
import { messageHash, type WakuMessage } from "../../protocols/waku/message.ts";
import { storeEntryToJson } from "../../protocols/waku/rest_json.ts";
import {
  decodeRecord,
  encodeRecord,
  expandRecord,
  packInt64,
  recordBlobSize,
  recordHash,
  recordHasPubsubTopic,
  recordSharedBlob,
  recordTag,
  setReceivedTime,
  type StoredMessage,
  TAG_BLOB,
  TAG_INLINE,
  TAG_SHARED_BLOB,
  trimRecord,
  unpackInt64,
} from "../../storage/waku_record.ts";
import { fuzzSeed, hex, mutate, Rng } from "../protocols/waku/fuzz_util.ts";

const enc = new TextEncoder();

function record(i: number, extra: Partial<WakuMessage> = {}): StoredMessage {
  const message: WakuMessage = {
    payload: new TextEncoder().encode(`payload ${i}`),
    contentTopic: `/app/1/t${i}/proto`,
    version: i % 3,
    timestamp: 1_732_000_000_000_000_001n + BigInt(i),
    ...extra,
  };
  const pubsubTopic = `/waku/2/rs/0/${i % 8}`;
  return {
    hash: messageHash(pubsubTopic, message),
    pubsubTopic,
    receivedTime: -5n + BigInt(i) * 7n,
    message,
  };
}
const json = (r: StoredMessage) => storeEntryToJson(r.hash, r.pubsubTopic, r.message, true);

Deno.test("record: the layout's bytes, byte by byte", () => {
  const r = record(1, { meta: new Uint8Array([9, 8]), ephemeral: true });
  const v = encodeRecord(r);
  const topic = enc.encode(r.pubsubTopic), ct = enc.encode(r.message.contentTopic);
  const u16 = (n: number) => [n >> 8, n & 255];
  const expected = [
    TAG_INLINE,
    ...packInt64(r.receivedTime),
    ...r.hash,
    ...packInt64(r.message.timestamp),
    0,
    0,
    0,
    r.message.version,
    1,
    ...u16(topic.length),
    ...topic,
    ...u16(ct.length),
    ...ct,
    ...u16(2),
    9,
    8,
    ...u16(0),
    0,
    0,
    0,
    r.message.payload.length,
    ...r.message.payload,
  ];
  assert.deepEqual([...v], expected);
  assert.equal(recordTag(v), TAG_INLINE);
  assert.equal(recordBlobSize(v), 0);
  assert.deepEqual(recordHash(v), r.hash);
  assert.ok(recordHasPubsubTopic(v, topic));
  assert.ok(!recordHasPubsubTopic(v, enc.encode(r.pubsubTopic + "x")));
});

Deno.test("record: round trip keeps every field, int64 timestamps exactly", () => {
  for (
    const r of [
      record(2),
      record(3, { meta: new Uint8Array([1, 2, 3]), ephemeral: true }),
      record(4, { payload: new Uint8Array(0), timestamp: -(1n << 63n) }),
      record(5, { contentTopic: 'quote " and \\ and ü', timestamp: (1n << 63n) - 1n }),
      record(6, { rateLimitProof: new Uint8Array(330).fill(3), version: 0xffffffff }),
    ]
  ) {
    assert.deepEqual(decodeRecord(encodeRecord(r)), r);
  }
});

Deno.test("record: the earlier JSON layout (tags 1 and 2) is still read", () => {
  const r = record(7, { meta: new Uint8Array([1]), rateLimitProof: new Uint8Array([2, 3]) });
  const body = enc.encode(json(r));
  const legacy = new Uint8Array(9 + body.length);
  legacy[0] = 1;
  legacy.set(packInt64(r.receivedTime), 1);
  legacy.set(body, 9);
  assert.deepEqual(decodeRecord(legacy), r);
  assert.deepEqual(recordHash(legacy), r.hash);
  assert.ok(recordHasPubsubTopic(legacy, enc.encode(r.pubsubTopic)));
  // Tag 2: the payload in a blob, its size after the receive time.
  const blobbed = { ...r, message: { ...r.message, payload: new Uint8Array(0) } };
  const body2 = enc.encode(json(blobbed));
  const legacy2 = new Uint8Array(13 + body2.length);
  legacy2[0] = 2;
  legacy2.set(packInt64(r.receivedTime), 1);
  new DataView(legacy2.buffer).setUint32(9, 70_000);
  legacy2.set(body2, 13);
  assert.equal(recordTag(legacy2), TAG_BLOB);
  assert.equal(recordBlobSize(legacy2), 70_000);
  assert.deepEqual(decodeRecord(legacy2), blobbed);
});

Deno.test("record: with the payload in a blob, the record holds only its size", () => {
  const r = record(6, { payload: new Uint8Array(100_000).fill(7) });
  const v = encodeRecord(r, "chunks");
  assert.equal(recordTag(v), TAG_BLOB);
  assert.equal(recordBlobSize(v), 100_000);
  assert.equal(recordSharedBlob(v), undefined);
  assert.ok(v.length < 1000);
  const back = decodeRecord(v);
  assert.deepEqual(back.message.payload, new Uint8Array(0));
  assert.deepEqual(recordHash(v), r.hash);
});

Deno.test("record: with the payload in the shared blob store, the record holds its size and SHA-256", () => {
  const r = record(7, { payload: new Uint8Array(700_000).fill(9) });
  const sha256 = new Uint8Array(32).map((_, i) => i + 1);
  const v = encodeRecord(r, { sha256 });
  assert.equal(recordTag(v), TAG_SHARED_BLOB);
  assert.equal(recordBlobSize(v), 700_000);
  assert.deepEqual(recordSharedBlob(v), sha256);
  assert.ok(v.length < 1000);
  const back = decodeRecord(v);
  assert.deepEqual(back.message.payload, new Uint8Array(0));
  assert.deepEqual(back.message.contentTopic, r.message.contentTopic);
  // Its receivedTime is set at commit, in place.
  setReceivedTime(v, 42n);
  assert.equal(decodeRecord(v).receivedTime, 42n);
});

Deno.test("packInt64/unpackInt64 round trip", () => {
  const vals = [0n, -1n, 1n << 62n, -(1n << 63n), (1n << 63n) - 1n];
  assert.deepEqual(unpackInt64(packInt64(...vals)), vals);
  assert.equal(packInt64(1n).length, 8);
});

Deno.test("fuzz: decodeRecord returns or throws a SyntaxError on random and mutated bytes", () => {
  const seed = fuzzSeed(0x5eed_0003);
  const rng = new Rng(seed);
  const valid = Array.from({ length: 8 }, (_, i) => {
    const r = record(i);
    return encodeRecord(r, i % 3 === 0 ? "chunks" : i % 3 === 1 ? { sha256: r.hash } : undefined);
  });
  for (let i = 0; i < 4000; i++) {
    const input = i % 2 ? rng.bytes(rng.int(200)) : mutate(rng, valid[rng.int(valid.length)]);
    try {
      decodeRecord(input);
    } catch (e) {
      assert.ok(
        e instanceof SyntaxError,
        `seed ${seed} iteration ${i} input ${hex(input)}: threw ${e}`,
      );
    }
  }
});

Deno.test("record: the store's trimmed form drops hash and timestamp, and expands back", () => {
  for (const place of [undefined, "chunks", { sha256: new Uint8Array(32).fill(3) }] as const) {
    const r = record(11, { payload: new Uint8Array(300).fill(1) });
    const full = encodeRecord(r, place);
    const kept = trimRecord(full);
    assert.equal(kept.length, full.length - 40);
    assert.equal(trimRecord(kept), kept, "trimming twice changes nothing");
    assert.ok(recordHasPubsubTopic(kept, new TextEncoder().encode(r.pubsubTopic)));
    assert.deepEqual(expandRecord(kept, r.message.timestamp, r.hash), full);
    assert.equal(expandRecord(full, 0n, new Uint8Array(32)), full, "a full record stays as it is");
  }
});
