import assert from "node:assert/strict";
import {
  decodeNumHeader,
  decodeNumHeader16,
  decodeNumHeader32,
  encodeNumHeader,
  encodeNumHeader16,
  encodeNumHeader32,
  NUMHEADER16_MAX,
  NUMHEADER32_MAX,
  numHeaderFrame,
  numHeaderSize,
} from "../../../protocols/remotefile/num_header.ts";

const hex = (b: Uint8Array) => b.toHex();

Deno.test("NumHeader32: short form 0–127, long form with bit 31 set, big-endian", () => {
  const vectors: [number, string][] = [
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "80000080"],
    [255, "800000ff"],
    [256, "80000100"],
    [300, "8000012c"],
    [32767, "80007fff"],
    [32768, "80008000"],
    [32895, "8000807f"],
    [65536, "80010000"],
    [0x12345678, "92345678"],
    [NUMHEADER32_MAX, "ffffffff"],
  ];
  for (const [value, bytes] of vectors) {
    assert.equal(hex(encodeNumHeader32(value)), bytes, `encode ${value}`);
    assert.deepEqual(decodeNumHeader32(Uint8Array.fromHex(bytes)), {
      value,
      size: bytes.length / 2,
    });
    assert.equal(numHeaderSize(value, 32), bytes.length / 2);
  }
});

Deno.test("NumHeader16: long form is 15 bits, where 0–127 stand for 32768–32895", () => {
  const vectors: [number, string][] = [
    [0, "00"],
    [127, "7f"],
    [128, "8080"],
    [255, "80ff"],
    [256, "8100"],
    [1000, "83e8"],
    [32767, "ffff"],
    [32768, "8000"],
    [32769, "8001"],
    [32895, "807f"],
  ];
  for (const [value, bytes] of vectors) {
    assert.equal(hex(encodeNumHeader16(value)), bytes, `encode ${value}`);
    assert.deepEqual(decodeNumHeader16(Uint8Array.fromHex(bytes)), {
      value,
      size: bytes.length / 2,
    });
    assert.equal(numHeaderSize(value, 16), bytes.length / 2);
  }
  assert.equal(NUMHEADER16_MAX, 32895);
});

Deno.test("NumHeader: every 16-bit value round-trips; encodings are unique", () => {
  const seen = new Set<string>();
  for (let v = 0; v <= NUMHEADER16_MAX; v++) {
    const e = encodeNumHeader16(v);
    assert.equal(decodeNumHeader16(e)?.value, v);
    seen.add(hex(e));
  }
  assert.equal(seen.size, NUMHEADER16_MAX + 1);
  for (const v of [0, 127, 128, 129, 65535, 65536, 2 ** 24, 2 ** 31 - 2, 2 ** 31 - 1]) {
    assert.equal(decodeNumHeader32(encodeNumHeader32(v))?.value, v);
  }
});

Deno.test("NumHeader: values out of range throw RangeError", () => {
  for (const v of [-1, 1.5, NaN, Infinity, NUMHEADER32_MAX + 1, 2 ** 32]) {
    assert.throws(() => encodeNumHeader32(v), RangeError);
  }
  for (const v of [-1, 0.5, NUMHEADER16_MAX + 1, 65535]) {
    assert.throws(() => encodeNumHeader16(v), RangeError);
  }
  assert.throws(() => numHeaderSize(32896, 16), /NumHeader16 cannot encode 32896/);
});

Deno.test("NumHeader: partial input is 'need more bytes' (null), never a throw", () => {
  assert.equal(decodeNumHeader32(new Uint8Array(0)), null);
  assert.equal(decodeNumHeader32(Uint8Array.fromHex("80")), null);
  assert.equal(decodeNumHeader32(Uint8Array.fromHex("8000")), null);
  assert.equal(decodeNumHeader32(Uint8Array.fromHex("800001")), null);
  assert.equal(decodeNumHeader16(new Uint8Array(0)), null);
  assert.equal(decodeNumHeader16(Uint8Array.fromHex("80")), null);
  // With an offset, and bytes after the header ignored.
  assert.deepEqual(decodeNumHeader32(Uint8Array.fromHex("ff8000012cff"), 1), {
    value: 300,
    size: 4,
  });
  assert.deepEqual(decodeNumHeader(Uint8Array.fromHex("05aa"), 16), { value: 5, size: 1 });
  assert.equal(decodeNumHeader32(Uint8Array.fromHex("05"), 1), null);
});

Deno.test("NumHeader32: a non-minimal long form is read as its value", () => {
  assert.deepEqual(decodeNumHeader32(Uint8Array.fromHex("80000005")), { value: 5, size: 4 });
});

Deno.test("numHeaderFrame: a FrameHeader for the house's frame reader", () => {
  for (const format of [16, 32] as const) {
    const h = numHeaderFrame(format);
    for (const v of [0, 127, 128, 32895]) {
      const bytes = encodeNumHeader(v, format);
      assert.equal(h.headerLength(bytes.subarray(0, 0)), 1);
      assert.equal(h.headerLength(bytes.subarray(0, 1)), bytes.length);
      assert.equal(h.bodyLength(bytes), v);
    }
    assert.equal(h.maxHeaderBytes, format === 16 ? 2 : 4);
  }
});
