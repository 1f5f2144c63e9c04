/**
 * Waku Store 2.0.0-beta2 HistoryRPC codec and the paging rules of planQuery.
 */
import assert from "node:assert/strict";
import type { WakuMessage } from "../../../protocols/waku/message.ts";
import {
  decodeHistoryRPC,
  encodeHistoryRPC,
  type HistoryQuery,
  type HistoryRPC,
  MAX_PAGE_SIZE,
  MAX_QUERY_TOPICS,
  MAX_TOPIC_BYTES,
  type PagingInfo,
  planQuery,
  receivedTimeSeconds,
  STORE_PROTOCOL_ID,
} from "../../../protocols/waku/store_rpc.ts";
import {
  floatField,
  fuzzMutated,
  fuzzRandom,
  fuzzRoundTrip,
  hex,
  lenField,
  plainMessage,
  Rng,
  utf8,
  varintField,
  zigzag,
} from "./fuzz_util.ts";

// ------------------------------------------------------------------- helpers

const plainMsg = plainMessage;

function plainPaging(p: PagingInfo | undefined): unknown {
  if (!p) return undefined;
  const o: Record<string, unknown> = { pageSize: p.pageSize, direction: p.direction };
  if (p.cursor) o.cursor = { digest: hex(p.cursor.digest), receivedTime: p.cursor.receivedTime };
  return o;
}

/** A comparable view of an RPC: bytes as hex. */
function plain(rpc: HistoryRPC): unknown {
  const o: Record<string, unknown> = { requestId: rpc.requestId };
  if (rpc.query) {
    o.query = { topics: [...rpc.query.topics], pagingInfo: plainPaging(rpc.query.pagingInfo) };
  }
  if (rpc.response) {
    o.response = {
      messages: rpc.response.messages.map(plainMsg),
      pagingInfo: plainPaging(rpc.response.pagingInfo),
    };
  }
  return o;
}

const roundTrip = (rpc: HistoryRPC) => decodeHistoryRPC(encodeHistoryRPC(rpc));
const digest32 = (fill: number) => new Uint8Array(32).fill(fill);

// ---------------------------------------------------------------- constants

Deno.test("store constants match the spec and nwaku limits", () => {
  assert.equal(STORE_PROTOCOL_ID, "/vac/waku/store/2.0.0-beta2");
  assert.equal(MAX_PAGE_SIZE, 100);
  assert.equal(MAX_QUERY_TOPICS, 10);
  assert.equal(MAX_TOPIC_BYTES, 512);
});

// --------------------------------------------------------------- round trips

Deno.test("HistoryRPC round trip: query with topics, forward paging, no cursor", () => {
  const rpc: HistoryRPC = {
    requestId: "req-1",
    query: {
      topics: ["/a/1/b/proto", "/c/1/d/proto"],
      pagingInfo: { pageSize: 20, direction: "forward" },
    },
  };
  assert.deepEqual(plain(roundTrip(rpc)), plain(rpc));
});

Deno.test("HistoryRPC round trip: query with backward paging and a cursor", () => {
  const rpc: HistoryRPC = {
    requestId: "req-2",
    query: {
      topics: ["/a/1/b/proto"],
      pagingInfo: {
        pageSize: 7,
        direction: "backward",
        cursor: { digest: digest32(0x42), receivedTime: 1.5 },
      },
    },
  };
  assert.deepEqual(plain(roundTrip(rpc)), plain(rpc));
});

Deno.test("HistoryRPC round trip: query without pagingInfo and with no topics", () => {
  const rpc: HistoryRPC = { requestId: "", query: { topics: [] } };
  const out = roundTrip(rpc);
  assert.deepEqual(plain(out), plain(rpc));
  assert.equal(out.query?.pagingInfo, undefined);
  assert.equal(out.response, undefined);
});

Deno.test("HistoryRPC round trip: response with messages and pagingInfo", () => {
  const messages: WakuMessage[] = [
    { payload: new Uint8Array([1]), contentTopic: "/a/1/b/proto", version: 0, timestamp: 1n },
    {
      payload: new Uint8Array([2, 3]),
      contentTopic: "/a/1/b/proto",
      version: 1,
      timestamp: -(1n << 63n),
      meta: new Uint8Array([9]),
      rateLimitProof: new Uint8Array([7, 7]),
      ephemeral: true,
    },
    {
      payload: new Uint8Array([4]),
      contentTopic: "/é/1/€/proto",
      version: 0,
      timestamp: (1n << 63n) - 1n,
    },
  ];
  const rpc: HistoryRPC = {
    requestId: "resp",
    response: {
      messages,
      pagingInfo: {
        pageSize: 3,
        direction: "backward",
        cursor: { digest: digest32(0xee), receivedTime: Math.fround(1700000000) },
      },
    },
  };
  const out = roundTrip(rpc);
  assert.deepEqual(plain(out), plain(rpc));
  assert.equal(out.query, undefined);
});

Deno.test("HistoryRPC round trip: empty response, requestId only", () => {
  assert.deepEqual(plain(roundTrip({ requestId: "x", response: { messages: [] } })), {
    requestId: "x",
    response: { messages: [], pagingInfo: undefined },
  });
  assert.deepEqual(plain(roundTrip({ requestId: "only" })), { requestId: "only" });
});

Deno.test("HistoryRPC: cursor receivedTime is a 32-bit float on the wire", () => {
  const t = 1700000000.123;
  const out = roundTrip({
    requestId: "",
    query: {
      topics: ["t"],
      pagingInfo: {
        pageSize: 1,
        direction: "forward",
        cursor: { digest: digest32(1), receivedTime: t },
      },
    },
  });
  assert.equal(out.query?.pagingInfo?.cursor?.receivedTime, Math.fround(t));
  assert.notEqual(Math.fround(t), t);
});

// --------------------------------------------------------- hand-built bytes

Deno.test("decodeHistoryRPC reads a hand-built query with request_id, topics and pagingInfo", () => {
  const digest = Uint8Array.from({ length: 32 }, (_, i) => i);
  const index = [...lenField(1, digest), ...floatField(2, 1.5)];
  // float 1.5 = 0x3fc00000, little-endian on the wire
  assert.deepEqual(index.slice(-5), [0x15, 0x00, 0x00, 0xc0, 0x3f]);
  const paging = [...varintField(1, 7), ...lenField(2, index), ...varintField(3, 1)];
  const query = [
    ...lenField(2, utf8("/a/1/b/proto")),
    ...lenField(2, utf8("t2")),
    ...lenField(3, paging),
  ];
  const bytes = new Uint8Array([...lenField(1, utf8("r1")), ...lenField(2, query)]);
  // Spot-check the framing written above against literal bytes.
  assert.equal(hex(bytes.subarray(0, 4)), "0a027231"); // field 1 "r1"
  assert.equal(bytes[4], 0x12); // field 2, wire 2
  assert.deepEqual(paging.slice(0, 4), [0x08, 0x07, 0x12, 39]); // pageSize 7, cursor len 39
  assert.deepEqual(paging.slice(-2), [0x18, 0x01]); // direction BACKWARD

  const rpc = decodeHistoryRPC(bytes);
  assert.deepEqual(plain(rpc), {
    requestId: "r1",
    query: {
      topics: ["/a/1/b/proto", "t2"],
      pagingInfo: {
        pageSize: 7,
        direction: "backward",
        cursor: { digest: hex(digest), receivedTime: 1.5 },
      },
    },
  });
});

Deno.test("decodeHistoryRPC reads a hand-built response with a message", () => {
  const msg = [
    ...lenField(1, [0xde, 0xad]),
    ...lenField(2, utf8("/a/1/b/proto")),
    ...varintField(10, zigzag(-3n)),
  ];
  const response = [...lenField(2, msg), ...lenField(3, [...varintField(1, 1)])];
  const bytes = new Uint8Array([...lenField(1, utf8("q")), ...lenField(3, response)]);
  assert.deepEqual(plain(decodeHistoryRPC(bytes)), {
    requestId: "q",
    response: {
      messages: [{ payload: "dead", contentTopic: "/a/1/b/proto", version: 0, timestamp: -3n }],
      pagingInfo: { pageSize: 1, direction: "forward" },
    },
  });
});

Deno.test("encodeHistoryRPC writes the expected bytes for a small query", () => {
  const bytes = encodeHistoryRPC({
    requestId: "r1",
    query: { topics: ["t"], pagingInfo: { pageSize: 7, direction: "backward" } },
  });
  const expected = [
    0x0a,
    0x02,
    0x72,
    0x31, // 1 request_id "r1"
    0x12,
    0x09, // 2 query, len 9
    0x12,
    0x01,
    0x74, //   2 topics "t"
    0x1a,
    0x04, //   3 pagingInfo, len 4
    0x08,
    0x07, //     1 pageSize 7
    0x18,
    0x01, //     3 direction BACKWARD
  ];
  assert.equal(hex(bytes), hex(expected));
});

Deno.test("decodeHistoryRPC: negative pageSize is a RangeError (query and response)", () => {
  // int64 -1 is a 10-byte varint
  const negPaging = varintField(1, -1n);
  assert.equal(negPaging.length, 11);
  const q = new Uint8Array([...lenField(2, lenField(3, negPaging))]);
  assert.throws(() => decodeHistoryRPC(q), RangeError);
  const r = new Uint8Array([...lenField(3, lenField(3, negPaging))]);
  assert.throws(() => decodeHistoryRPC(r), RangeError);
});

Deno.test("decodeHistoryRPC: direction other than 0/1 is a RangeError", () => {
  for (const dir of [2, 5, 127, 0xffffffff]) {
    const q = new Uint8Array([...lenField(2, lenField(3, varintField(3, dir)))]);
    assert.throws(() => decodeHistoryRPC(q), RangeError, `direction ${dir}`);
    const r = new Uint8Array([...lenField(3, lenField(3, varintField(3, dir)))]);
    assert.throws(() => decodeHistoryRPC(r), RangeError, `direction ${dir}`);
  }
});

Deno.test("decodeHistoryRPC: huge pageSize is clamped to a safe integer", () => {
  const q = new Uint8Array([...lenField(2, lenField(3, varintField(1, 1n << 62n)))]);
  assert.equal(decodeHistoryRPC(q).query?.pagingInfo?.pageSize, Number.MAX_SAFE_INTEGER);
});

Deno.test("decodeHistoryRPC: malformed bytes are a SyntaxError", () => {
  const bad = [
    new Uint8Array([0x0a, 0x05, 0x72]),
    new Uint8Array([0x12, 0x03, 0x12, 0x09, 0x74]),
    new Uint8Array([0x0f]),
    new Uint8Array([0x1a, 0x02, 0x12, 0x05]),
  ];
  for (const b of bad) assert.throws(() => decodeHistoryRPC(b), SyntaxError, hex(b));
});

// ---------------------------------------------------------------- planQuery

const q = (topics: string[], pagingInfo?: PagingInfo): HistoryQuery => ({ topics, pagingInfo });

Deno.test("planQuery: pageSize 0 → 100, 250 → 100, 7 → 7, 100 → 100, absent → 100", () => {
  const cases: [number, number][] = [[0, 100], [250, 100], [7, 7], [100, 100], [101, 100], [1, 1]];
  for (const [given, want] of cases) {
    assert.equal(planQuery(q(["t"], { pageSize: given, direction: "forward" })).pageSize, want);
  }
  const plan = planQuery(q(["t"]));
  assert.equal(plan.pageSize, 100);
  assert.equal(plan.direction, "forward");
  assert.equal(plan.cursor, undefined);
});

Deno.test("planQuery keeps the direction", () => {
  assert.equal(planQuery(q(["t"], { pageSize: 5, direction: "backward" })).direction, "backward");
  assert.equal(planQuery(q(["t"], { pageSize: 5, direction: "forward" })).direction, "forward");
});

Deno.test("planQuery via decodeHistoryRPC: pageSize 0 / 250 / 7 from the wire", () => {
  for (const [size, want] of [[0, 100], [250, 100], [7, 7]]) {
    const rpc = decodeHistoryRPC(
      new Uint8Array(
        lenField(2, [...lenField(2, utf8("t")), ...lenField(3, varintField(1, size))]),
      ),
    );
    assert.equal(planQuery(rpc.query!).pageSize, want);
  }
});

Deno.test("planQuery: at most 10 topics", () => {
  const ten = Array.from({ length: 10 }, (_, i) => `/t/1/${i}/proto`);
  assert.equal(planQuery(q(ten)).topics.length, 10);
  assert.throws(() => planQuery(q([...ten, "/t/1/x/proto"])), RangeError);
});

Deno.test("planQuery: topics are limited to 512 UTF-8 bytes and must not be empty", () => {
  assert.equal(planQuery(q(["a".repeat(512)])).topics[0].length, 512);
  assert.throws(() => planQuery(q(["a".repeat(513)])), RangeError);
  // 257 characters but 514 bytes: the limit is in bytes, not characters.
  assert.throws(() => planQuery(q(["é".repeat(257)])), RangeError);
  assert.equal(planQuery(q(["é".repeat(256)])).topics.length, 1);
  assert.throws(() => planQuery(q([""])), RangeError);
});

Deno.test("planQuery: duplicate topics are removed, first-seen order kept", () => {
  assert.deepEqual(planQuery(q(["b", "a", "b", "c", "a"])).topics, ["b", "a", "c"]);
});

Deno.test("planQuery: cursor digest must be exactly 32 bytes", () => {
  for (const n of [0, 1, 31, 33, 64]) {
    assert.throws(
      () =>
        planQuery(q(["t"], {
          pageSize: 1,
          direction: "forward",
          cursor: { digest: new Uint8Array(n), receivedTime: 0 },
        })),
      RangeError,
      `digest of ${n} bytes`,
    );
  }
  const d = digest32(0x11);
  const plan = planQuery(
    q(["t"], { pageSize: 1, direction: "forward", cursor: { digest: d, receivedTime: 0 } }),
  );
  assert.equal(hex(plan.cursor!), hex(d));
});

Deno.test({
  // Regression: planQuery only clamps from above; a negative or
  // fractional pageSize given directly (not via decodeHistoryRPC, which rejects
  // negatives) comes back unchanged, e.g. -1 → pageSize -1.
  name: "planQuery: a negative pageSize given directly is a RangeError",
  fn() {
    assert.throws(() => planQuery(q(["t"], { pageSize: -1, direction: "forward" })), RangeError);
  },
});

// ------------------------------------------------------- receivedTimeSeconds

Deno.test("receivedTimeSeconds converts ns to float32 seconds", () => {
  assert.equal(receivedTimeSeconds(0n), 0);
  assert.equal(receivedTimeSeconds(1_500_000_000n), 1.5);
  assert.equal(receivedTimeSeconds(1_700_000_000_000_000_000n), 1700000000);
  // float32 steps by 128 s around 1.7e9: 63 s later still reads as 1700000000
  assert.equal(receivedTimeSeconds(1_700_000_063_000_000_000n), 1700000000);
  assert.equal(receivedTimeSeconds(1_700_000_065_000_000_000n), 1700000128);
  assert.equal(
    receivedTimeSeconds(1_732_000_000_123_456_789n),
    Math.fround(1732000000.123),
  );
  const v = receivedTimeSeconds(1_732_000_000_123_456_789n);
  assert.equal(Math.fround(v), v);
});

// ----------------------------------------------------------------------- fuzz

function randomRpc(rng: Rng): HistoryRPC {
  const paging = (): PagingInfo | undefined => {
    if (rng.chance(0.3)) return undefined;
    const p: PagingInfo = {
      pageSize: rng.pick([0, 1, 20, 100, 250, rng.int(2 ** 31)]),
      direction: rng.chance(0.5) ? "forward" : "backward",
    };
    if (rng.chance(0.6)) {
      p.cursor = { digest: rng.bytes(32), receivedTime: Math.fround(rng.float() * 2e9) };
    }
    return p;
  };
  const rpc: HistoryRPC = { requestId: rng.string(12) };
  if (rng.chance(0.6)) {
    rpc.query = { topics: Array.from({ length: rng.int(5) }, () => rng.string(16)) };
    const p = paging();
    if (p) rpc.query.pagingInfo = p;
  }
  if (rng.chance(0.6)) {
    rpc.response = {
      messages: Array.from({ length: rng.int(4) }, () => {
        const m: WakuMessage = {
          payload: rng.bytes(1 + rng.int(24)),
          contentTopic: rng.string(16),
          version: rng.int(3),
          timestamp: rng.int64(),
        };
        if (rng.chance(0.3)) m.meta = rng.bytes(1 + rng.int(16));
        if (rng.chance(0.2)) m.ephemeral = true;
        return m;
      }),
    };
    const p = paging();
    if (p) rpc.response.pagingInfo = p;
  }
  return rpc;
}

function checkDecode(bytes: Uint8Array, seed: number, i: number): void {
  const ctx = `seed ${seed} iteration ${i} input ${hex(bytes)}`;
  let rpc: HistoryRPC;
  try {
    rpc = decodeHistoryRPC(bytes);
  } catch (e) {
    assert.ok(e instanceof SyntaxError || e instanceof RangeError, `${ctx}: threw ${e}`);
    return;
  }
  // A successful decode must re-encode, and the re-encoding decode to the same value.
  let again: Uint8Array;
  try {
    again = encodeHistoryRPC(rpc);
  } catch (e) {
    assert.fail(`${ctx}: re-encoding a decoded RPC threw ${e}`);
  }
  assert.deepEqual(plain(decodeHistoryRPC(again)), plain(rpc), ctx);
}

Deno.test("fuzz decodeHistoryRPC: random bytes return an RPC or throw SyntaxError/RangeError", () => {
  fuzzRandom(0x5eed0101, 4000, 80, checkDecode);
});

Deno.test("fuzz decodeHistoryRPC: mutated valid encodings decode-or-throw and re-encode", () => {
  fuzzMutated(0x5eed0102, 5000, (rng) => encodeHistoryRPC(randomRpc(rng)), checkDecode);
});

Deno.test("fuzz HistoryRPC round trip: random valid RPCs survive encode/decode", () => {
  fuzzRoundTrip(0x5eed0103, 2000, randomRpc, roundTrip, plain, assert.deepEqual);
});
