/**
 * The stored form of a Waku message (protobuf record in KV).
 */
import assert from "node:assert/strict";
import { messageHash, type WakuMessage } from "../../protocols/waku/message.ts";
import {
  type DecodedRecord,
  decodeRecord,
  encodeRecord,
  type StoredMessage,
} from "../../storage/waku_record.ts";
import { fuzzSeed, hex, lenField, mutate, Rng, utf8 } from "../protocols/waku/fuzz_util.ts";

function plainMsg(m: WakuMessage): Record<string, unknown> {
  const o: Record<string, unknown> = {
    payload: hex(m.payload),
    contentTopic: m.contentTopic,
    version: m.version,
    timestamp: m.timestamp,
  };
  if (m.meta !== undefined) o.meta = hex(m.meta);
  if (m.rateLimitProof !== undefined) o.rateLimitProof = hex(m.rateLimitProof);
  if (m.ephemeral !== undefined) o.ephemeral = m.ephemeral;
  return o;
}

function plain(r: StoredMessage | DecodedRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {
    hash: hex(r.hash),
    pubsubTopic: r.pubsubTopic,
    receivedTime: r.receivedTime,
    message: plainMsg(r.message),
  };
  if ("blobSize" in r) o.blobSize = r.blobSize;
  return o;
}

function record(message: WakuMessage, receivedTime = 1732000000123456789n): StoredMessage {
  const pubsubTopic = "/waku/2/rs/0/0";
  return { hash: messageHash(pubsubTopic, message), pubsubTopic, receivedTime, message };
}

const message: WakuMessage = {
  payload: new Uint8Array([1, 2, 3, 4, 5]),
  contentTopic: "/toy-chat/2/huilong/proto",
  version: 1,
  timestamp: 1732000000000000001n,
  meta: new Uint8Array([0xaa, 0xbb]),
  rateLimitProof: new Uint8Array([9, 9, 9]),
  ephemeral: true,
};

Deno.test("record round trip with the payload inline", () => {
  const rec = record(message);
  const out = decodeRecord(encodeRecord(rec));
  assert.deepEqual(plain(out), { ...plain(rec), blobSize: 0 });
  assert.equal(out.hash.length, 32);
});

Deno.test("record round trip of a plain message without optional fields", () => {
  const m: WakuMessage = {
    payload: new Uint8Array([7]),
    contentTopic: "/a/1/b/c",
    version: 0,
    timestamp: 0n,
  };
  const rec = record(m, 0n);
  assert.deepEqual(plain(decodeRecord(encodeRecord(rec))), { ...plain(rec), blobSize: 0 });
});

Deno.test("record with payloadInBlob leaves the payload out and records its size", () => {
  const big = { ...message, payload: new Uint8Array(300_000).fill(0x5a) };
  const rec = record(big);
  const inline = encodeRecord(rec);
  const blob = encodeRecord(rec, true);
  assert.ok(blob.length < 1000, `blob record is small (${blob.length} bytes)`);
  assert.ok(inline.length > 300_000);
  const out = decodeRecord(blob);
  assert.equal(out.blobSize, 300_000);
  assert.equal(out.message.payload.length, 0);
  assert.equal(hex(out.hash), hex(rec.hash));
  assert.equal(out.pubsubTopic, rec.pubsubTopic);
  assert.equal(out.receivedTime, rec.receivedTime);
  const { payload: _p, ...rest } = plainMsg(out.message);
  const { payload: _q, ...want } = plainMsg(big);
  assert.deepEqual(rest, want);
  // The caller's record is not modified.
  assert.equal(rec.message.payload.length, 300_000);
});

Deno.test("record keeps int64 receivedTime and timestamps exact", () => {
  for (const t of [0n, 1n, -1n, (1n << 63n) - 1n, -(1n << 63n), 9007199254740993n]) {
    const out = decodeRecord(encodeRecord(record({ ...message, timestamp: t }, t)));
    assert.equal(out.receivedTime, t);
    assert.equal(out.message.timestamp, t);
  }
});

Deno.test("decodeRecord reads hand-built record bytes", () => {
  const inner = [...lenField(1, [0x42]), ...lenField(2, utf8("t"))];
  const hash = new Uint8Array(32).fill(3);
  const bytes = new Uint8Array([
    ...lenField(1, hash),
    ...lenField(2, utf8("/p")),
    0x18,
    0x04, // 3 receivedTime sint64 zigzag(2) = 4
    ...lenField(4, inner),
    0x28,
    0x07, // 5 blobSize 7
  ]);
  assert.deepEqual(plain(decodeRecord(bytes)), {
    hash: hex(hash),
    pubsubTopic: "/p",
    receivedTime: 2n,
    message: { payload: "42", contentTopic: "t", version: 0, timestamp: 0n },
    blobSize: 7,
  });
});

Deno.test("decodeRecord rejects a record whose embedded message is malformed", () => {
  const bytes = new Uint8Array([...lenField(4, [0x0a, 0x09, 0x01])]);
  assert.throws(() => decodeRecord(bytes), SyntaxError);
  assert.throws(() => decodeRecord(new Uint8Array([0x0a, 0x20, 0x01])), Error);
});

Deno.test({
  // Regression: a message with an empty payload is stored
  // without field 1, and decodes with protobufjs's shared default `[]` (a
  // plain, frozen Array) as its payload; serving it as JSON then throws.
  name: "decodeRecord: an empty payload comes back as a Uint8Array",
  fn() {
    const out = decodeRecord(encodeRecord(record({ ...message, payload: new Uint8Array(0) })));
    assert.ok(out.message.payload instanceof Uint8Array);
    assert.ok(out.hash instanceof Uint8Array);
  },
});

// ----------------------------------------------------------------------- fuzz

function randomRecord(rng: Rng): StoredMessage {
  const m: WakuMessage = {
    payload: rng.bytes(1 + rng.int(40)),
    contentTopic: rng.string(16),
    version: rng.int(3),
    timestamp: rng.int64(),
  };
  if (rng.chance(0.4)) m.meta = rng.bytes(1 + rng.int(16));
  if (rng.chance(0.2)) m.ephemeral = true;
  return { ...record(m, rng.int64()), pubsubTopic: rng.string(16) };
}

function checkDecode(bytes: Uint8Array, seed: number, i: number): void {
  const ctx = `seed ${seed} iteration ${i} input ${hex(bytes)}`;
  let out: DecodedRecord;
  try {
    out = decodeRecord(bytes);
  } catch (e) {
    assert.ok(e instanceof Error, `${ctx}: threw ${e}`);
    return;
  }
  assert.equal(typeof out.receivedTime, "bigint", ctx);
  assert.equal(typeof out.pubsubTopic, "string", ctx);
  assert.equal(typeof out.blobSize, "number", ctx);
  assert.equal(typeof out.message.timestamp, "bigint", ctx);
}

Deno.test("fuzz decodeRecord: random bytes return a record or throw an Error", () => {
  const seed = fuzzSeed(0x5eed0301);
  const rng = new Rng(seed);
  for (let i = 0; i < 4000; i++) checkDecode(rng.bytes(rng.int(96)), seed, i);
});

Deno.test("fuzz decodeRecord: mutated valid records return a record or throw an Error", () => {
  const seed = fuzzSeed(0x5eed0302);
  const rng = new Rng(seed);
  for (let i = 0; i < 5000; i++) {
    let bytes = encodeRecord(randomRecord(rng), rng.chance(0.3));
    const rounds = 1 + rng.int(3);
    for (let r = 0; r < rounds; r++) bytes = mutate(rng, bytes);
    checkDecode(bytes, seed, i);
  }
});

Deno.test("fuzz record round trip: random records survive encode/decode", () => {
  const seed = fuzzSeed(0x5eed0303);
  const rng = new Rng(seed);
  for (let i = 0; i < 2000; i++) {
    const rec = randomRecord(rng);
    assert.deepEqual(
      plain(decodeRecord(encodeRecord(rec))),
      { ...plain(rec), blobSize: 0 },
      `seed ${seed} iteration ${i}`,
    );
  }
});
