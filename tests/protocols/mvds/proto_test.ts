/**
 * The Payload codec: field numbers, exact wire bytes (written by hand),
 * absent optional fields, int64 timestamps, and refusal of bad bytes with
 * a SyntaxError only (random, mutated and truncated inputs).
 */
import assert from "node:assert/strict";
import {
  decodePayload,
  emptyPayload,
  encodePayload,
  type Message,
  MessageType,
  messageWireSize,
  type Payload,
  PayloadType,
} from "../../../protocols/mvds/proto.ts";
import { fuzzMutated, fuzzRandom, hex, lenField, Rng, varintField } from "../waku/fuzz_util.ts";

const id = (n: number) => new Uint8Array(32).fill(n);
const msg = (g: number[], ts: bigint, body: number[]): Message => ({
  groupId: new Uint8Array(g),
  timestamp: ts,
  body: new Uint8Array(body),
});
/** A comparable view: bytes as hex. */
const plain = (p: Payload) => ({
  acks: p.acks.map(hex),
  offers: p.offers.map(hex),
  requests: p.requests.map(hex),
  messages: p.messages.map((m) => ({ g: hex(m.groupId), t: m.timestamp, b: hex(m.body) })),
});

Deno.test("schema: the spec's package and field numbers", () => {
  const fields = (t: typeof PayloadType) =>
    Object.fromEntries(t.fieldsArray.map((f) => [f.name, [f.id, f.type, f.repeated]]));
  assert.equal(PayloadType.fullName, ".vac.mvds.Payload");
  assert.deepEqual(fields(PayloadType), {
    acks: [5001, "bytes", true],
    offers: [5002, "bytes", true],
    requests: [5003, "bytes", true],
    messages: [5004, "Message", true],
  });
  assert.deepEqual(fields(MessageType), {
    group_id: [6001, "bytes", false],
    timestamp: [6002, "int64", false],
    body: [6003, "bytes", false],
  });
});

Deno.test("encode: the exact wire bytes, written by hand", () => {
  const m = msg([0xaa], -2n, [1, 2]);
  const inner = [...lenField(6001, [0xaa]), ...varintField(6002, -2n), ...lenField(6003, [1, 2])];
  const expected = [
    ...lenField(5001, id(1)),
    ...lenField(5002, id(2)),
    ...lenField(5003, id(3)),
    ...lenField(5004, inner),
  ];
  const p: Payload = { acks: [id(1)], offers: [id(2)], requests: [id(3)], messages: [m] };
  assert.equal(hex(encodePayload(p)), hex(expected));
  assert.deepEqual(plain(decodePayload(new Uint8Array(expected))), plain(p));
});

Deno.test("encode: empty and zero message fields are left out, as proto3 does", () => {
  const bytes = encodePayload({ ...emptyPayload(), messages: [msg([], 0n, [])] });
  assert.equal(hex(bytes), hex(lenField(5004, [])));
  assert.equal(encodePayload(emptyPayload()).length, 0);
  assert.ok(Object.getPrototypeOf(bytes) === Uint8Array.prototype);
});

Deno.test("decode: a message without its optional fields gets empty/zero values", () => {
  const p = decodePayload(new Uint8Array(lenField(5004, [])));
  assert.equal(p.messages.length, 1);
  const [m] = p.messages;
  assert.ok(m.groupId instanceof Uint8Array && m.groupId.length === 0);
  assert.ok(m.body instanceof Uint8Array && m.body.length === 0);
  assert.equal(m.timestamp, 0n);
  // only a timestamp
  const only = decodePayload(new Uint8Array(lenField(5004, varintField(6002, 5n))));
  assert.deepEqual(plain(only).messages, [{ g: "", t: 5n, b: "" }]);
  assert.deepEqual(plain(decodePayload(new Uint8Array())), plain(emptyPayload()));
});

Deno.test("decode: int64 timestamps exactly, negative ones as two's complement", () => {
  for (
    const t of [
      1n,
      -1n,
      1_700_000_000n,
      -1_700_000_000n,
      (1n << 63n) - 1n,
      -(1n << 63n),
      1n << 53n,
      (1n << 53n) + 1n,
    ]
  ) {
    const bytes = new Uint8Array(lenField(5004, varintField(6002, t)));
    assert.equal(decodePayload(bytes).messages[0].timestamp, t, `timestamp ${t}`);
    assert.equal(hex(encodePayload({ ...emptyPayload(), messages: [msg([], t, [])] })), hex(bytes));
  }
});

Deno.test("decode: returns copies, not views of the input", () => {
  const bytes = encodePayload({ ...emptyPayload(), acks: [id(7)], messages: [msg([1], 1n, [2])] });
  const p = decodePayload(bytes);
  bytes.fill(0);
  assert.equal(hex(p.acks[0]), hex(id(7)));
  assert.equal(hex(p.messages[0].body), "02");
  assert.ok(Object.getPrototypeOf(p.acks[0]) === Uint8Array.prototype);
});

Deno.test("decode: unknown fields are skipped", () => {
  const bytes = new Uint8Array([
    ...varintField(1, 300),
    ...lenField(5001, id(1)),
    ...lenField(9, [1, 2, 3]),
    ...lenField(5004, [...varintField(77, 1), ...lenField(6003, [5])]),
  ]);
  assert.deepEqual(plain(decodePayload(bytes)), {
    acks: [hex(id(1))],
    offers: [],
    requests: [],
    messages: [{ g: "", t: 0n, b: "05" }],
  });
});

/** Asserts that decoding throws a SyntaxError whose message matches. */
function refuses(bytes: ArrayLike<number>, pattern: RegExp, limits = {}) {
  assert.throws(() => decodePayload(new Uint8Array(bytes), limits), (e: unknown) => {
    assert.ok(e instanceof SyntaxError, `not a SyntaxError: ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("decode: ids that are not 32 bytes are refused, naming the field", () => {
  refuses(lenField(5001, new Uint8Array(31)), /acks\[0\] is 31 bytes/);
  refuses(
    [...lenField(5002, id(1)), ...lenField(5002, new Uint8Array(33))],
    /offers\[1\] is 33 bytes/,
  );
  refuses(lenField(5003, []), /requests\[0\] is 0 bytes/);
});

Deno.test("decode: wrong wire types are refused, naming the field", () => {
  refuses(varintField(5001, 3), /acks\[0\] has wire type 0/);
  refuses(varintField(5004, 3), /messages\[0\] has wire type 0/);
  refuses(lenField(5004, lenField(6002, [1])), /messages\[0\]\.timestamp has wire type 2/);
  refuses(lenField(5004, varintField(6001, 1)), /messages\[0\]\.group_id has wire type 0/);
  refuses([0x0b, 0x0c], /wire type 3/); // a group (field 1): not proto3
});

Deno.test("decode: truncated bytes are refused", () => {
  const full = encodePayload({
    acks: [id(1)],
    offers: [id(2)],
    requests: [],
    messages: [msg([1, 2, 3], -7n, [4, 5, 6, 7])],
  });
  for (let n = 1; n < full.length; n++) {
    const cut = full.subarray(0, n);
    // a cut exactly between two fields (after each 36-byte id entry) is a valid, shorter payload
    if (n === 36 || n === 72) assert.equal(decodePayload(cut).acks.length, 1);
    else assert.throws(() => decodePayload(cut), SyntaxError, `prefix of ${n} bytes`);
  }
  refuses([0xca, 0xb8, 0x02, 0x20, 1, 2], /announces 32 bytes, 2 remain/);
  refuses([0xca, 0xb8], /cut off/);
  // a length far beyond the input is refused before anything is allocated for it
  refuses(
    [0xe2, 0xb8, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0],
    /announces 4294967295 bytes, 1 remain/,
  );
});

Deno.test("decode: list and size limits", () => {
  const three = [...lenField(5001, id(1)), ...lenField(5001, id(2)), ...lenField(5001, id(3))];
  refuses(three, /more than 2 acks/, { maxIds: 2 });
  assert.equal(decodePayload(new Uint8Array(three), { maxIds: 3 }).acks.length, 3);
  refuses([...lenField(5004, []), ...lenField(5004, [])], /more than 1 messages/, {
    maxMessages: 1,
  });
  refuses(
    lenField(5004, lenField(6001, new Uint8Array(257))),
    /group_id is 257 bytes, at most 256/,
  );
  refuses(lenField(5004, lenField(6003, new Uint8Array(11))), /body is 11 bytes, at most 10/, {
    maxBodyBytes: 10,
  });
  refuses(varintField(5001 + 0, 1).concat(Array(11).fill(0x80)), /wire type 0/);
  refuses(Array(11).fill(0xff), /longer than 10 bytes/);
});

Deno.test("messageWireSize is the encoded size of a message entry", () => {
  const rng = new Rng(7);
  for (let i = 0; i < 200; i++) {
    const m: Message = {
      groupId: rng.bytes(rng.pick([0, 1, 32, 200])),
      timestamp: rng.int64(),
      body: rng.bytes(rng.pick([0, 1, 127, 128, 300, 20000])),
    };
    assert.equal(encodePayload({ ...emptyPayload(), messages: [m] }).length, messageWireSize(m));
  }
});

/** Decoding either returns a payload or throws SyntaxError: nothing else. */
function checkDecode(bytes: Uint8Array, seed: number, i: number) {
  try {
    const p = decodePayload(bytes);
    for (const list of [p.acks, p.offers, p.requests]) {
      for (const x of list) assert.equal(x.length, 32);
    }
    for (const m of p.messages) assert.equal(typeof m.timestamp, "bigint");
  } catch (e) {
    if (!(e instanceof SyntaxError)) {
      throw new Error(`seed ${seed} input ${i} (${hex(bytes)}): ${e}`);
    }
  }
}

Deno.test("fuzz: random bytes decode or throw SyntaxError", () => {
  fuzzRandom(0x6d7664, 4000, 200, checkDecode);
});

Deno.test("fuzz: mutated valid payloads decode or throw SyntaxError, and round-trip when valid", () => {
  fuzzMutated(0x6d7665, 4000, (rng) => {
    const p = emptyPayload();
    for (let i = rng.int(3); i > 0; i--) p.acks.push(rng.bytes(32));
    for (let i = rng.int(3); i > 0; i--) p.offers.push(rng.bytes(32));
    for (let i = rng.int(2); i > 0; i--) p.requests.push(rng.bytes(32));
    for (let i = rng.int(3); i > 0; i--) {
      p.messages.push({
        groupId: rng.bytes(rng.int(40)),
        timestamp: rng.int64(),
        body: rng.bytes(rng.int(60)),
      });
    }
    return encodePayload(p);
  }, (bytes, seed, i) => {
    checkDecode(bytes, seed, i);
    let p: Payload;
    try {
      p = decodePayload(bytes);
    } catch {
      return;
    }
    // whatever decodes re-encodes to something that decodes to the same payload
    assert.deepEqual(plain(decodePayload(encodePayload(p))), plain(p), `seed ${seed} input ${i}`);
  });
});
