import assert from "node:assert/strict";
import { TooLargeError } from "../../../lib/errors.ts";
import { contentJsonStream } from "../../../protocols/cas/content_json.ts";
import {
  contentDataStream,
  contentPrefix,
  ContentReader,
} from "../../../protocols/cas/content_stream.ts";
import { ContentType, decodeContent, encodeContent } from "../../../protocols/cas/proto.ts";
import {
  fuzzMutated,
  fuzzRandom,
  hex,
  key,
  lenField,
  Rng,
  utf8,
  varint,
  varintField,
} from "../waku/fuzz_util.ts";

const MAX = 1 << 20;

/** Reads `bytes` fed in pieces cut at random places; the data, or the error thrown. */
function readInPieces(bytes: Uint8Array, rng: Rng, max = MAX): Uint8Array {
  const r = new ContentReader({ maxDataBytes: max });
  const out: number[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + rng.int(Math.max(1, bytes.length - i));
    for (const piece of r.push(bytes.subarray(i, i + n))) out.push(...piece);
    i += n;
  }
  r.end();
  return new Uint8Array(out);
}

Deno.test("contentPrefix + data is the Content protobufjs writes, for sizes around varint edges", () => {
  for (const size of [0, 1, 127, 128, 300, 16_383, 16_384, 70_000]) {
    const data = new Uint8Array(size).fill(7);
    const ours = new Uint8Array([...contentPrefix(size), ...data]);
    assert.equal(hex(ours), hex(encodeContent(data)), `size ${size}`);
  }
  assert.deepEqual([...contentPrefix(300)], [0x0a, 0xac, 0x02]);
  assert.throws(() => contentPrefix(-1), RangeError);
});

Deno.test("ContentReader reads data cut anywhere, skipping unknown fields of every wire type", () => {
  const rng = new Rng(3);
  const data = rng.bytes(5000);
  const unknown = [
    ...varintField(2, 300),
    ...key(3, 1),
    ...new Array(8).fill(9),
    ...key(4, 5),
    1,
    2,
    3,
    4,
    ...lenField(5, utf8("skip me")),
    ...lenField(6, []),
  ];
  const cases = [
    new Uint8Array([...lenField(1, data)]),
    new Uint8Array([...unknown, ...lenField(1, data)]),
    new Uint8Array([...lenField(1, data), ...unknown]),
    new Uint8Array([...unknown, ...lenField(1, data), ...unknown]),
  ];
  for (const [i, bytes] of cases.entries()) {
    for (let round = 0; round < 20; round++) {
      assert.equal(hex(readInPieces(bytes, rng)), hex(data), `case ${i} round ${round}`);
    }
    assert.equal(hex(decodeContent(bytes)), hex(data), `protobufjs agrees, case ${i}`);
  }
  // No data field: empty data, as proto3 reads it.
  assert.equal(readInPieces(new Uint8Array(), rng).length, 0);
  assert.equal(readInPieces(new Uint8Array(unknown), rng).length, 0);
});

Deno.test("ContentReader refuses what breaks the wire format, and data over the limit from its length", () => {
  const rng = new Rng(4);
  const malformed: [number[], RegExp][] = [
    [[...lenField(1, [1]), ...lenField(1, [2])], /data\) twice/],
    [[...varintField(1, 5)], /wire type 0/],
    [[...key(2, 3)], /wire type 3/],
    [[...key(0, 0), 0], /invalid field number 0/],
    [[0x0a, 0x05, 1, 2], /ends inside a field/],
    [[0x0a], /ends inside a field/],
    [[0x80], /ends inside a field/],
    [[...key(2, 0), ...new Array(10).fill(0x80), 0], /longer than 10 bytes/],
  ];
  for (const [bytes, why] of malformed) {
    assert.throws(
      () => readInPieces(new Uint8Array(bytes), rng),
      (e: Error) => e instanceof SyntaxError && why.test(e.message),
      hex(bytes),
    );
  }
  const r = new ContentReader({ maxDataBytes: 100 });
  assert.throws(
    () => r.push(new Uint8Array([0x0a, ...varint(101)])),
    (e: Error) => e instanceof TooLargeError && e.size === 101 && e.limit === 100,
  );
  assert.throws(
    () =>
      new ContentReader({ maxDataBytes: 100 }).push(new Uint8Array([0x0a, ...varint(2n ** 62n)])),
    TooLargeError,
  );
});

Deno.test("contentDataStream passes data through as a stream; errors reach the reader", async () => {
  const data = new Rng(5).bytes(200_000);
  const encoded = encodeContent(data);
  const pieces = [encoded.subarray(0, 3), encoded.subarray(3, 70_000), encoded.subarray(70_000)];
  const out = await new Response(ReadableStream.from(pieces).pipeThrough(contentDataStream(MAX)))
    .bytes();
  assert.equal(hex(out), hex(data));
  await assert.rejects(
    new Response(
      ReadableStream.from([encoded.subarray(0, 1000)]).pipeThrough(contentDataStream(MAX)),
    )
      .bytes(),
    SyntaxError,
  );
});

Deno.test("contentJsonStream writes Twirp's JSON of a Content, whatever the pieces", async () => {
  const rng = new Rng(6);
  for (const size of [0, 1, 2, 3, 4, 5, 1000, 65_537]) {
    const data = rng.bytes(size);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < size;) {
      const n = 1 + rng.int(7);
      pieces.push(data.subarray(i, i + n));
      i += n;
    }
    const text = await new Response(ReadableStream.from(pieces).pipeThrough(contentJsonStream()))
      .text();
    assert.deepEqual(JSON.parse(text), { data: data.toBase64() }, `size ${size}`);
  }
});

/** The reference: what protobufjs decodes, or undefined when it refuses the bytes. */
function reference(bytes: Uint8Array): Uint8Array | undefined {
  try {
    const m = ContentType.decode(bytes) as unknown as { data?: Uint8Array };
    return m.data ?? new Uint8Array();
  } catch {
    return undefined;
  }
}

/** Fuzz check: ours fails only with SyntaxError/TooLargeError, and what it reads protobufjs reads the same. */
function agreesWithReference(bytes: Uint8Array, seed: number, i: number): void {
  let ours: Uint8Array;
  try {
    ours = readInPieces(bytes, new Rng(seed + i), 4096);
  } catch (e) {
    assert.ok(e instanceof SyntaxError || e instanceof TooLargeError, `seed ${seed} #${i}: ${e}`);
    return;
  }
  const ref = reference(bytes);
  assert.ok(ref, `seed ${seed} #${i}: ours read ${hex(bytes)}, protobufjs refused it`);
  assert.equal(hex(ours), hex(ref), `seed ${seed} #${i}: ${hex(bytes)}`);
}

Deno.test("fuzz: random bytes — ContentReader agrees with protobufjs or refuses", () => {
  fuzzRandom(21, 5000, 64, agreesWithReference);
});

Deno.test("fuzz: mutated Contents — ContentReader agrees with protobufjs or refuses", () => {
  fuzzMutated(22, 5000, (rng) => {
    const fields: number[] = [];
    if (rng.chance(0.3)) fields.push(...varintField(2 + rng.int(20), rng.int(1000)));
    fields.push(...lenField(1, rng.bytes(rng.int(200))));
    if (rng.chance(0.3)) fields.push(...lenField(2 + rng.int(20), rng.bytes(rng.int(10))));
    return new Uint8Array(fields);
  }, agreesWithReference);
});
