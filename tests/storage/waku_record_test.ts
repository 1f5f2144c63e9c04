import assert from "node:assert/strict";
import { messageHash, type WakuMessage } from "../../protocols/waku/message.ts";
import { storeEntryToJson } from "../../protocols/waku/rest_json.ts";
import {
  decodeRecord,
  encodeRecord,
  packInt64,
  recordBlobSize,
  recordHashOnlyJson,
  recordJson,
  recordReceivedTime,
  recordTag,
  type StoredMessage,
  TAG_BLOB,
  TAG_INLINE,
  unpackInt64,
} from "../../storage/waku_record.ts";
import { fuzzSeed, hex, mutate, Rng } from "../protocols/waku/fuzz_util.ts";

const dec = new TextDecoder();

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

Deno.test("record: header bytes, then the store entry JSON", () => {
  const r = record(1);
  const v = encodeRecord(r, json(r));
  assert.equal(v[0], TAG_INLINE);
  assert.deepEqual([...v.subarray(1, 9)], [...packInt64(r.receivedTime)]);
  assert.equal(recordTag(v), TAG_INLINE);
  assert.equal(recordReceivedTime(v), r.receivedTime);
  assert.equal(recordBlobSize(v), 0);
  assert.equal(dec.decode(recordJson(v)), json(r));
  assert.equal(dec.decode(recordHashOnlyJson(v)), `{"messageHash":"0x${r.hash.toHex()}"}`);
});

Deno.test("record: round trip keeps every field, int64 timestamps exactly", () => {
  for (
    const r of [
      record(2),
      record(3, { meta: new Uint8Array([1, 2, 3]), ephemeral: true }),
      record(4, { payload: new Uint8Array(0), timestamp: -(1n << 63n) }),
      record(5, { contentTopic: 'quote " and \\ and ü', timestamp: (1n << 63n) - 1n }),
    ]
  ) {
    assert.deepEqual(decodeRecord(encodeRecord(r, json(r))), r);
  }
});

Deno.test("record: with the payload in a blob, the JSON holds an empty payload and the size", () => {
  const r = record(6, { payload: new Uint8Array(100_000).fill(7) });
  const v = encodeRecord(r, json(r), true);
  assert.equal(recordTag(v), TAG_BLOB);
  assert.equal(recordBlobSize(v), 100_000);
  assert.ok(v.length < 1000);
  const back = decodeRecord(v);
  assert.deepEqual(back.message.payload, new Uint8Array(0));
  assert.equal(dec.decode(recordHashOnlyJson(v)), `{"messageHash":"0x${r.hash.toHex()}"}`);
});

Deno.test("packInt64/unpackInt64 round trip", () => {
  const vals = [0n, -1n, 1n << 62n, -(1n << 63n), (1n << 63n) - 1n];
  assert.deepEqual(unpackInt64(packInt64(...vals)), vals);
  assert.equal(packInt64(1n).length, 8);
});

Deno.test("fuzz: decodeRecord returns or throws an Error on random and mutated bytes", () => {
  const seed = fuzzSeed(0x5eed_0003);
  const rng = new Rng(seed);
  const valid = Array.from({ length: 8 }, (_, i) => {
    const r = record(i);
    return encodeRecord(r, json(r), i % 3 === 0);
  });
  for (let i = 0; i < 4000; i++) {
    const input = i % 2 ? rng.bytes(rng.int(200)) : mutate(rng, valid[rng.int(valid.length)]);
    try {
      decodeRecord(input);
    } catch (e) {
      assert.ok(e instanceof Error, `seed ${seed} iteration ${i} input ${hex(input)}: threw ${e}`);
    }
  }
});
