/**
 * WakuMessage (RFC 14) codec and deterministic message hash.
 */
import assert from "node:assert/strict";
import {
  decodeWakuMessage,
  encodeWakuMessage,
  fromProtoObject,
  isInt64,
  messageHash,
  toProtoObject,
  type WakuMessage,
} from "../../../protocols/waku/message.ts";
import {
  floatField,
  fuzzMutated,
  fuzzRandom,
  fuzzRoundTrip,
  fuzzSeed,
  hex,
  lenField,
  plainMessage,
  Rng,
  utf8,
  varint,
  varintField,
  zigzag,
} from "./fuzz_util.ts";

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

const plain = plainMessage;

function roundTrip(m: WakuMessage): WakuMessage {
  return decodeWakuMessage(encodeWakuMessage(m));
}

const base: WakuMessage = {
  payload: new Uint8Array([1, 2, 3, 4]),
  contentTopic: "/toy-chat/2/huilong/proto",
  version: 0,
  timestamp: 1732000000000000001n,
};

// ---------------------------------------------------------------- round trips

Deno.test("WakuMessage round trip: plain message without optional fields", () => {
  const out = roundTrip(base);
  assert.deepEqual(plain(out), plain(base));
  assert.equal("meta" in out, false);
  assert.equal("rateLimitProof" in out, false);
  assert.equal("ephemeral" in out, false);
});

Deno.test("WakuMessage round trip: with meta, rateLimitProof and ephemeral", () => {
  const m: WakuMessage = {
    ...base,
    version: 2,
    meta: Uint8Array.from({ length: 64 }, (_, i) => i),
    rateLimitProof: new Uint8Array(320).fill(0xab),
    ephemeral: true,
  };
  assert.deepEqual(plain(roundTrip(m)), plain(m));
});

Deno.test("WakuMessage round trip: int64 timestamp extremes and negatives are exact", () => {
  for (
    const ts of [
      0n,
      1n,
      -1n,
      -1732000000000000001n,
      1732000000000000001n,
      INT64_MAX,
      INT64_MIN,
      INT64_MAX - 1n,
      INT64_MIN + 1n,
      BigInt(Number.MAX_SAFE_INTEGER) + 2n,
      -(1n << 32n),
      1n << 32n,
    ]
  ) {
    const out = roundTrip({ ...base, timestamp: ts });
    assert.equal(out.timestamp, ts, `timestamp ${ts}`);
    assert.equal(typeof out.timestamp, "bigint");
  }
});

Deno.test("WakuMessage round trip: max uint32 version, unicode topic, 200 KiB payload", () => {
  const payload = new Uint8Array(200 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const m: WakuMessage = {
    payload,
    contentTopic: "/app/1/héllo-€-𝄞/proto",
    version: 0xffffffff,
    timestamp: -5n,
  };
  assert.deepEqual(plain(roundTrip(m)), plain(m));
});

Deno.test("WakuMessage: ephemeral false, empty meta and empty proof stay off the wire", () => {
  const withDefaults: WakuMessage = {
    ...base,
    meta: new Uint8Array(0),
    rateLimitProof: new Uint8Array(0),
    ephemeral: false,
  };
  assert.equal(hex(encodeWakuMessage(withDefaults)), hex(encodeWakuMessage(base)));
  const out = roundTrip(withDefaults);
  assert.equal("meta" in out, false);
  assert.equal("rateLimitProof" in out, false);
  assert.equal("ephemeral" in out, false);
  // version 0 is a proto3 default and stays off the wire too.
  assert.deepEqual(Object.keys(toProtoObject(withDefaults)).sort(), [
    "contentTopic",
    "payload",
    "timestamp",
  ]);
});

// ------------------------------------------------------------ exact wire bytes

Deno.test("WakuMessage encodes to the exact protobuf bytes of RFC 14 field numbers", () => {
  const m: WakuMessage = {
    payload: new Uint8Array([0x01, 0x02, 0x03]),
    contentTopic: "/a/1/b/c",
    version: 1,
    timestamp: 300n, // zigzag 600 = 0xd8 0x04
    meta: new Uint8Array([0xaa]),
    rateLimitProof: new Uint8Array([0xbb, 0xcc]),
    ephemeral: true,
  };
  // Written byte by byte from the schema: key = (field << 3) | wire type.
  const expected = new Uint8Array([
    0x0a,
    0x03,
    0x01,
    0x02,
    0x03, // 1 payload, wire 2, len 3
    0x12,
    0x08,
    0x2f,
    0x61,
    0x2f,
    0x31,
    0x2f,
    0x62,
    0x2f,
    0x63, // 2 content_topic "/a/1/b/c"
    0x18,
    0x01, // 3 version, wire 0 = 1
    0x50,
    0xd8,
    0x04, // 10 timestamp, wire 0, sint64 zigzag(300) = 600
    0x5a,
    0x01,
    0xaa, // 11 meta, wire 2, len 1
    0xaa,
    0x01,
    0x02,
    0xbb,
    0xcc, // 21 rate_limit_proof: key 170 = varint aa 01
    0xf8,
    0x01,
    0x01, // 31 ephemeral: key 248 = varint f8 01, true
  ]);
  assert.equal(hex(encodeWakuMessage(m)), hex(expected));
  assert.deepEqual(plain(decodeWakuMessage(expected)), plain(m));
});

Deno.test("WakuMessage timestamp is sint64 zigzag on the wire (field 10)", () => {
  const cases: [bigint, number[]][] = [
    [-1n, [0x50, 0x01]],
    [1n, [0x50, 0x02]],
    [-2n, [0x50, 0x03]],
    [INT64_MAX, [0x50, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    [INT64_MIN, [0x50, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ];
  for (const [ts, field] of cases) {
    const bytes = new Uint8Array([0x0a, 0x01, 0x07, 0x12, 0x01, 0x74, ...field]);
    const m: WakuMessage = {
      payload: new Uint8Array([7]),
      contentTopic: "t",
      version: 0,
      timestamp: ts,
    };
    assert.equal(hex(encodeWakuMessage(m)), hex(bytes), `encode timestamp ${ts}`);
    assert.equal(decodeWakuMessage(bytes).timestamp, ts, `decode timestamp ${ts}`);
    // The hand-written zigzag/varint helpers agree with the literal bytes.
    assert.equal(hex(varint(zigzag(ts))), hex(field.slice(1)));
  }
});

Deno.test("decodeWakuMessage: canonical minimal bytes give version 0 and timestamp 0", () => {
  const out = decodeWakuMessage(new Uint8Array([0x0a, 0x01, 0x07, 0x12, 0x01, 0x74]));
  assert.deepEqual(plain(out), { payload: "07", contentTopic: "t", version: 0, timestamp: 0n });
});

Deno.test("decodeWakuMessage: fields in any order, unknown fields skipped, last value wins", () => {
  const bytes = new Uint8Array([
    ...varintField(10, zigzag(-7n)),
    ...varintField(4, 99), // unknown varint field
    ...lenField(2, utf8("old")),
    ...lenField(100, [1, 2, 3]), // unknown length-delimited field
    ...floatField(7, 1.5), // unknown fixed32 field
    ...lenField(2, utf8("/x/1/y/z")), // repeated scalar: last wins
    ...lenField(1, [9, 9]),
    ...varintField(3, 3),
  ]);
  assert.deepEqual(plain(decodeWakuMessage(bytes)), {
    payload: "0909",
    contentTopic: "/x/1/y/z",
    version: 3,
    timestamp: -7n,
  });
});

Deno.test("decodeWakuMessage: malformed bytes throw SyntaxError", () => {
  const bad = [
    new Uint8Array([0x0a, 0x05, 0x01]), // length beyond end
    new Uint8Array([0x50, 0xff, 0xff]), // unterminated varint
    new Uint8Array([0x0f]), // wire type 7 does not exist
    new Uint8Array([0x0c]), // end-group without start
    new Uint8Array([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]), // huge length
  ];
  for (const b of bad) {
    assert.throws(() => decodeWakuMessage(b), SyntaxError, `input ${hex(b)}`);
  }
});

Deno.test("isInt64 accepts exactly the signed 64-bit range", () => {
  assert.equal(isInt64(0n), true);
  assert.equal(isInt64(INT64_MAX), true);
  assert.equal(isInt64(INT64_MIN), true);
  assert.equal(isInt64(INT64_MAX + 1n), false);
  assert.equal(isInt64(INT64_MIN - 1n), false);
});

Deno.test("fromProtoObject fills defaults for absent fields", () => {
  // deno-lint-ignore no-explicit-any
  const m = fromProtoObject({} as any);
  assert.equal(m.contentTopic, "");
  assert.equal(m.version, 0);
  assert.equal(m.timestamp, 0n);
  assert.equal(m.payload.length, 0);
});

Deno.test({
  // Regression: protobufjs leaves an absent bytes field as its
  // shared frozen default `[]` (a plain Array), and fromProtoObject keeps it
  // because `[] ?? new Uint8Array(0)` is `[]`. Proto3 encoders omit empty
  // payloads, so any empty-payload message decodes with a non-Uint8Array payload.
  name: "decodeWakuMessage: an absent (empty) payload decodes as a Uint8Array",
  fn() {
    const out = decodeWakuMessage(encodeWakuMessage({ ...base, payload: new Uint8Array(0) }));
    assert.ok(out.payload instanceof Uint8Array, "payload should be a Uint8Array");
  },
});

// ---------------------------------------------------------------- messageHash

/** RFC 14 hash computed independently with WebCrypto. */
async function expectedHash(pubsubTopic: string, m: WakuMessage): Promise<string> {
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigInt64(0, m.timestamp, false);
  const parts = [
    utf8(pubsubTopic),
    m.payload,
    utf8(m.contentTopic),
    m.meta ?? new Uint8Array(),
    ts,
  ];
  const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)));
}

Deno.test("messageHash equals sha256(pubsub ‖ payload ‖ contentTopic ‖ meta ‖ ts BE) via WebCrypto", async () => {
  const cases: [string, WakuMessage][] = [
    ["/waku/2/rs/0/0", base],
    ["/waku/2/rs/0/0", { ...base, meta: new Uint8Array([1, 2, 3]) }],
    ["", { payload: new Uint8Array(), contentTopic: "", version: 0, timestamp: 0n }],
    ["/waku/2/é", { ...base, timestamp: -1n }],
    ["p", { ...base, timestamp: INT64_MIN }],
    ["p", { ...base, timestamp: INT64_MAX, ephemeral: true, rateLimitProof: new Uint8Array([5]) }],
  ];
  for (const [topic, m] of cases) {
    const got = messageHash(topic, m);
    assert.equal(got.length, 32);
    assert.equal(hex(got), await expectedHash(topic, m), `topic ${topic} ts ${m.timestamp}`);
  }
});

Deno.test("messageHash changes when any hashed field changes, not for version/proof/ephemeral", () => {
  const m: WakuMessage = { ...base, meta: new Uint8Array([9]) };
  const h0 = hex(messageHash("/waku/2/rs/0/0", m));
  const changed: [string, string, WakuMessage][] = [
    ["pubsubTopic", "/waku/2/rs/0/1", m],
    ["payload", "/waku/2/rs/0/0", { ...m, payload: new Uint8Array([1, 2, 3, 5]) }],
    ["contentTopic", "/waku/2/rs/0/0", { ...m, contentTopic: m.contentTopic + "x" }],
    ["meta", "/waku/2/rs/0/0", { ...m, meta: new Uint8Array([8]) }],
    ["meta absent", "/waku/2/rs/0/0", { ...m, meta: undefined }],
    ["timestamp", "/waku/2/rs/0/0", { ...m, timestamp: m.timestamp + 1n }],
    ["timestamp sign", "/waku/2/rs/0/0", { ...m, timestamp: -m.timestamp }],
  ];
  for (const [what, topic, other] of changed) {
    assert.notEqual(hex(messageHash(topic, other)), h0, `changing ${what} must change the hash`);
  }
  const same: WakuMessage[] = [
    { ...m, version: 7 },
    { ...m, ephemeral: true },
    { ...m, rateLimitProof: new Uint8Array([1, 2]) },
  ];
  for (const other of same) assert.equal(hex(messageHash("/waku/2/rs/0/0", other)), h0);
  // Absent meta and empty meta hash alike (RFC 14: absent attributes are left out).
  assert.equal(
    hex(messageHash("t", { ...base, meta: new Uint8Array(0) })),
    hex(messageHash("t", base)),
  );
  // The same inputs always give the same hash.
  assert.equal(hex(messageHash("/waku/2/rs/0/0", m)), h0);
});

Deno.test("messageHash is a plain concatenation (RFC 14 has no length prefixes)", () => {
  const a: WakuMessage = { ...base, payload: utf8("ab"), contentTopic: "c" };
  const b: WakuMessage = { ...base, payload: utf8("a"), contentTopic: "bc" };
  assert.equal(hex(messageHash("t", a)), hex(messageHash("t", b)));
});

// RFC 14 "Test vectors" (vacp2p/rfc-index waku/standards/core/14/message.md).
Deno.test("messageHash matches the published RFC 14 test vectors", () => {
  const pubsub = "/waku/2/default-waku/proto";
  assert.equal(hex(utf8(pubsub)), "2f77616b752f322f64656661756c742d77616b752f70726f746f");
  const contentTopic = "/waku/2/default-content/proto";
  assert.equal(
    hex(utf8(contentTopic)),
    "2f77616b752f322f64656661756c742d636f6e74656e742f70726f746f",
  );
  const payload = Uint8Array.fromHex("010203045445535405060708");
  const timestamp = 0x175789bfa23f8400n;
  const vectors: [string, Uint8Array, Uint8Array | undefined, string][] = [
    [
      "meta of 12 bytes",
      payload,
      Uint8Array.fromHex("73757065722d736563726574"),
      "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05",
    ],
    [
      "meta of 64 bytes",
      payload,
      Uint8Array.from({ length: 64 }, (_, i) => i),
      "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27",
    ],
    [
      "meta not present",
      payload,
      undefined,
      "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8",
    ],
    [
      "payload of length 0",
      new Uint8Array(0),
      Uint8Array.fromHex("73757065722d736563726574"),
      "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4",
    ],
  ];
  for (const [name, p, meta, expected] of vectors) {
    const m: WakuMessage = { payload: p, contentTopic, version: 0, timestamp };
    if (meta) m.meta = meta;
    assert.equal(hex(messageHash(pubsub, m)), expected, name);
  }
});

// ----------------------------------------------------------------------- fuzz

function randomMessage(rng: Rng): WakuMessage {
  const m: WakuMessage = {
    payload: rng.bytes(rng.int(40)),
    contentTopic: rng.string(20),
    version: rng.chance(0.5) ? 0 : rng.int(2 ** 32),
    timestamp: rng.int64(),
  };
  if (rng.chance(0.4)) m.meta = rng.bytes(1 + rng.int(64));
  if (rng.chance(0.3)) m.rateLimitProof = rng.bytes(1 + rng.int(40));
  if (rng.chance(0.3)) m.ephemeral = true;
  return m;
}

function checkDecode(bytes: Uint8Array, seed: number, i: number): void {
  let out: WakuMessage;
  try {
    out = decodeWakuMessage(bytes);
  } catch (e) {
    assert.ok(
      e instanceof SyntaxError || e instanceof RangeError,
      `seed ${seed} iteration ${i} input ${hex(bytes)}: threw ${e}`,
    );
    return;
  }
  // A successful decode is a well-formed message that re-encodes and decodes to itself.
  const ctx = `seed ${seed} iteration ${i} input ${hex(bytes)}`;
  assert.equal(typeof out.contentTopic, "string", ctx);
  assert.equal(typeof out.timestamp, "bigint", ctx);
  assert.ok(isInt64(out.timestamp), ctx);
  assert.ok(Number.isInteger(out.version) && out.version >= 0 && out.version < 2 ** 32, ctx);
  const again = decodeWakuMessage(
    encodeWakuMessage({ ...out, payload: new Uint8Array(out.payload) }),
  );
  assert.deepEqual(plain(again), plain(out), ctx);
}

Deno.test("fuzz decodeWakuMessage: random bytes return a message or throw SyntaxError/RangeError", () => {
  fuzzRandom(0x5eed0001, 4000, 64, checkDecode);
});

Deno.test("fuzz decodeWakuMessage: mutated valid encodings", () => {
  fuzzMutated(0x5eed0002, 5000, (rng) => encodeWakuMessage(randomMessage(rng)), checkDecode);
});

Deno.test("fuzz WakuMessage round trip: random valid messages survive encode/decode", () => {
  fuzzRoundTrip(0x5eed0003, 2000, randomMessage, roundTrip, plain, assert.deepEqual);
});

Deno.test("encodedSize equals the length of encodeWakuMessage for edge values", async () => {
  const { encodedSize, encodeWakuMessage } = await import("../../../protocols/waku/message.ts");
  const rng = new Rng(fuzzSeed(0x5123));
  for (let i = 0; i < 2000; i++) {
    const msg = {
      payload: rng.bytes(rng.chance(0.1) ? 20_000 : rng.int(300)),
      contentTopic: rng.string(40),
      version: rng.chance(0.5) ? rng.int(200) : rng.int(2 ** 32),
      timestamp: rng.int64(),
      meta: rng.chance(0.5) ? rng.bytes(rng.int(65)) : undefined,
      rateLimitProof: rng.chance(0.2) ? rng.bytes(rng.int(300)) : undefined,
      ephemeral: rng.chance(0.3),
    };
    assert.equal(encodedSize(msg), encodeWakuMessage(msg).length, `seed iteration ${i}`);
  }
});
