/**
 * Waku messages in nwaku's REST JSON, with exact int64 timestamps.
 */
import assert from "node:assert/strict";
import {
  decodeWakuMessage,
  encodeWakuMessage,
  type WakuMessage,
} from "../../../protocols/waku/message.ts";
import { messageToJson, storeEntryToJson } from "../../../protocols/waku/rest_json.ts";
import { fuzzSeed, mutate, Rng } from "./fuzz_util.ts";
import { parseJsonExact } from "../../../lib/json_exact.ts";

/** The int64 keys of nwaku's JSON. */
const exact = (text: string) => parseJsonExact(text, ["timestamp", "startTime", "endTime"]);

const msg: WakuMessage = {
  payload: new Uint8Array([0x68, 0x69, 0xff]),
  contentTopic: "/toy-chat/2/huilong/proto",
  version: 1,
  timestamp: 1732000000000000001n,
};

type Json = Record<string, unknown>;

Deno.test("messageToJson is valid JSON with base64 payload and an exact int64 timestamp", () => {
  const text = messageToJson(msg);
  JSON.parse(text); // valid JSON
  const parsed = exact(text) as Json;
  assert.deepEqual(parsed, {
    payload: "aGn/",
    contentTopic: "/toy-chat/2/huilong/proto",
    version: 1,
    timestamp: "1732000000000000001",
    ephemeral: false,
  });
  // The digits on the wire are exactly the int64, not a rounded double.
  assert.match(text, /"timestamp":1732000000000000001[,}]/);
});

Deno.test("messageToJson: meta only when non-empty, ephemeral always a boolean", () => {
  const withMeta = exact(
    messageToJson({ ...msg, meta: new Uint8Array([1, 2, 3]), ephemeral: true }),
  ) as Json;
  assert.equal(withMeta.meta, "AQID");
  assert.equal(withMeta.ephemeral, true);
  const emptyMeta = exact(messageToJson({ ...msg, meta: new Uint8Array(0) })) as Json;
  assert.equal("meta" in emptyMeta, false);
  assert.equal(emptyMeta.ephemeral, false);
});

Deno.test("messageToJson keeps int64 extremes, negatives and zero exact", () => {
  for (
    const ts of [0n, -1n, (1n << 63n) - 1n, -(1n << 63n), 9007199254740993n, -1732000000000000001n]
  ) {
    const parsed = exact(messageToJson({ ...msg, timestamp: ts })) as Json;
    assert.equal(parsed.timestamp, String(ts), `timestamp ${ts}`);
  }
});

Deno.test("messageToJson escapes awkward content topics and handles an empty payload", () => {
  for (
    const topic of ['a"b', "back\\slash", "line\nbreak", "tab\t", "\u0000ctl", "é€𝄞", "</script>"]
  ) {
    const text = messageToJson({ ...msg, contentTopic: topic, payload: new Uint8Array(0) });
    const parsed = exact(text) as Json;
    assert.equal(parsed.contentTopic, topic);
    assert.equal(parsed.payload, "");
  }
});

Deno.test("storeEntryToJson without data is only the 0x-hex hash", () => {
  const hash = Uint8Array.from({ length: 32 }, (_, i) => i);
  const text = storeEntryToJson(hash, "/waku/2/rs/0/0", msg, false);
  assert.deepEqual(JSON.parse(text), {
    messageHash: "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
  });
});

Deno.test("storeEntryToJson with data nests the message and pubsub topic", () => {
  const hash = new Uint8Array(32).fill(0xab);
  const text = storeEntryToJson(
    hash,
    '/waku/2/"quoted"',
    { ...msg, meta: new Uint8Array([7]) },
    true,
  );
  assert.deepEqual(exact(text), {
    messageHash: "0x" + "ab".repeat(32),
    message: {
      payload: "aGn/",
      contentTopic: "/toy-chat/2/huilong/proto",
      version: 1,
      timestamp: "1732000000000000001",
      meta: "Bw==",
      ephemeral: false,
    },
    pubsubTopic: '/waku/2/"quoted"',
  });
});

Deno.test("parseJsonExact: timestamp/startTime/endTime integers keep every digit, others stay numbers", () => {
  const parsed = exact(
    '{"timestamp":1732000000000000001,"startTime":5,"endTime":-7,' +
      '"version":1,"pageSize":20,"big":12345678901234567890,"nested":{"timestamp":0},' +
      '"list":[{"endTime":9223372036854775807}]}',
  ) as Json;
  assert.equal(parsed.timestamp, "1732000000000000001");
  assert.equal(parsed.startTime, "5");
  assert.equal(parsed.endTime, "-7");
  assert.equal(parsed.version, 1);
  assert.equal(parsed.pageSize, 20);
  assert.equal(typeof parsed.big, "number");
  assert.equal(parsed.big, 12345678901234567890);
  assert.equal((parsed.nested as Json).timestamp, "0");
  assert.equal((parsed.list as Json[])[0].endTime, "9223372036854775807");
});

Deno.test("parseJsonExact: strings that look like numbers stay strings", () => {
  const parsed = exact(
    '{"timestamp":"1732000000000000001","startTime":"5","n":"42","payload":"123"}',
  ) as Json;
  assert.equal(parsed.timestamp, "1732000000000000001");
  assert.equal(parsed.startTime, "5");
  assert.equal(parsed.n, "42");
  assert.equal(parsed.payload, "123");
});

Deno.test("parseJsonExact: non-integer timestamps stay numbers, other values as JSON.parse", () => {
  const parsed = exact(
    '{"timestamp":1.5,"startTime":1e3,"endTime":null,"ok":true,"arr":[1,"2"]}',
  ) as Json;
  assert.equal(parsed.timestamp, 1.5);
  assert.equal(parsed.startTime, 1000);
  assert.equal(parsed.endTime, null);
  assert.equal(parsed.ok, true);
  assert.deepEqual(parsed.arr, [1, "2"]);
  assert.equal(exact("12345678901234567890"), 12345678901234567890);
  assert.equal(exact('"x"'), "x");
});

Deno.test("parseJsonExact: invalid JSON is a SyntaxError", () => {
  for (
    const bad of [
      "",
      "{",
      '{"timestamp":}',
      "{'a':1}",
      '{"timestamp":01}',
      '{"timestamp":-}',
      '{"timestamp":1 2}',
      '{"timestamp":12',
      '{"timestamp"\u00a0:1}',
    ]
  ) {
    assert.throws(() => exact(bad), SyntaxError, bad);
  }
});

Deno.test("fuzz messageToJson: random messages always give JSON that parses back exactly", () => {
  const seed = fuzzSeed(0x5eed0201);
  const rng = new Rng(seed);
  for (let i = 0; i < 2000; i++) {
    const m: WakuMessage = {
      payload: rng.bytes(rng.int(20)),
      contentTopic: rng.string(12),
      version: rng.int(2 ** 32),
      timestamp: rng.int64(),
    };
    if (rng.chance(0.5)) m.meta = rng.bytes(1 + rng.int(8));
    if (rng.chance(0.5)) m.ephemeral = rng.chance(0.5);
    const ctx = `seed ${seed} iteration ${i}`;
    const parsed = exact(messageToJson(m)) as Json;
    assert.equal(parsed.timestamp, String(m.timestamp), ctx);
    assert.equal(parsed.contentTopic, m.contentTopic, ctx);
    assert.equal(parsed.version, m.version, ctx);
    assert.equal(parsed.payload, m.payload.toBase64(), ctx);
    assert.equal(parsed.meta, m.meta?.toBase64(), ctx);
    assert.equal(parsed.ephemeral, m.ephemeral === true, ctx);
  }
});

Deno.test({
  // Regression: a message decoded from protobuf with no payload
  // field (proto3 encoders omit an empty payload) carries protobufjs's default
  // `[]` as payload; toBase64([]) then throws "bytes.toBase64 is not a function".
  name: "messageToJson works for a protobuf-decoded message with an empty payload",
  fn() {
    const decoded = decodeWakuMessage(encodeWakuMessage({ ...msg, payload: new Uint8Array(0) }));
    const parsed = exact(messageToJson(decoded)) as Json;
    assert.equal(parsed.payload, "");
  },
});

/** What parseJsonExact must give: JSON.parse's value, with the int64 fields' integers as text. */
function expectedExact(text: string): unknown {
  return JSON.parse(text, function (key, value, context?: { source?: string }) {
    const big = key === "timestamp" || key === "startTime" || key === "endTime";
    return big && typeof value === "number" && /^-?\d+$/.test(context?.source ?? "")
      ? context!.source
      : value;
  });
}

Deno.test("fuzz parseJsonExact: mutated bodies parse exactly as JSON.parse with source access, or both fail", () => {
  const seed = fuzzSeed(0x5eed0202);
  const rng = new Rng(seed);
  const bases = [
    `[${
      messageToJson(msg)
    },{"pubsubTopic":"/a","timestamp":-12,"startTime":0,"x":[1,{"endTime":7}]}]`,
    '{"timestamp" : 1732000000000000001 ,"a\\":"\\"timestamp":5","b":"\\"}',
    '{"q\\"timestamp":42,"endTime":[9223372036854775807],"startTime":1e3}',
  ];
  const encoder = new TextEncoder(), decoder = new TextDecoder();
  for (let i = 0; i < 5000; i++) {
    const base = encoder.encode(bases[i % bases.length]);
    const text = decoder.decode(i % 10 === 0 ? base : mutate(rng, base));
    let want: unknown, wantError = false;
    try {
      want = expectedExact(text);
    } catch {
      wantError = true;
    }
    const ctx = `seed ${seed} iteration ${i}: ${text}`;
    if (wantError) assert.throws(() => exact(text), SyntaxError, ctx);
    else assert.deepEqual(exact(text), want, ctx);
  }
});
