import assert from "node:assert/strict";
import { CONTROL_AREA_START } from "../../../protocols/remotefile/address.ts";
import { encodeMessage } from "../../../protocols/remotefile/framing.ts";
import {
  decodeWriteMessage,
  encodeWriteMessage,
  fragmentWrite,
  WriteAssembler,
} from "../../../protocols/remotefile/write_message.ts";

const hex = (b: Uint8Array) => b.toHex();
const framed = (address: number, data: Uint8Array, format: 16 | 32) =>
  encodeMessage(encodeWriteMessage({ address, data }), format);

Deno.test("spec example: Write(0x10, 2, [5, 6])", () => {
  const body = encodeWriteMessage({ address: 0x10, data: new Uint8Array([5, 6]) });
  assert.equal(hex(body), "00100506");
  assert.equal(hex(encodeMessage(body, 32)), "0400100506");
  assert.deepEqual(decodeWriteMessage(body), {
    address: 0x10,
    data: new Uint8Array([5, 6]),
    more: false,
  });
});

Deno.test("spec header examples: the four scenarios in both NumHeader formats", () => {
  // Short & Low: 1-byte NumHeader, 2-byte address.
  for (const f of [16, 32] as const) {
    assert.equal(hex(framed(0x10, new Uint8Array([1]), f).subarray(0, 3)), "030010");
  }
  // Long & Low: 128 bytes or more at 0–16383.
  const big = new Uint8Array(200);
  assert.equal(hex(framed(0x10, big, 16).subarray(0, 4)), "80ca0010"); // 202 bytes
  assert.equal(hex(framed(0x10, big, 32).subarray(0, 6)), "800000ca0010");
  // Short & High: 1-byte NumHeader, 4-byte address.
  for (const f of [16, 32] as const) {
    assert.equal(hex(framed(0x4000, new Uint8Array([1]), f).subarray(0, 5)), "0580004000");
  }
  // Long & High.
  assert.equal(hex(framed(0x10000, big, 16).subarray(0, 6)), "80cc80010000"); // 204 bytes
  assert.equal(hex(framed(0x10000, big, 32).subarray(0, 8)), "800000cc80010000");
  assert.equal(framed(0x10000, big, 32).length, 8 + 200);
});

Deno.test("write message: a zero-length write is valid; a short body is SyntaxError", () => {
  assert.deepEqual(decodeWriteMessage(Uint8Array.fromHex("0010")), {
    address: 0x10,
    data: new Uint8Array(0),
    more: false,
  });
  for (const bad of ["", "00", "80", "800000"]) {
    assert.throws(() => decodeWriteMessage(Uint8Array.fromHex(bad)), SyntaxError, bad);
  }
  // Past the end of the address space.
  assert.throws(() => decodeWriteMessage(Uint8Array.fromHex("bfffffff0102")), RangeError);
  assert.throws(
    () => encodeWriteMessage({ address: 0x3fffffff, data: new Uint8Array(2) }),
    RangeError,
  );
});

Deno.test("fragmentWrite: MORE_BIT on all but the last; each at its own address", () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const parts = fragmentWrite(0x3f80, data, 128);
  assert.deepEqual(parts.map((p) => [p.address, p.data.length, p.more]), [
    [0x3f80, 128, true],
    [0x4000, 128, true],
    [0x4080, 44, false],
  ]);
  // The header form follows each fragment's address.
  assert.equal(hex(encodeWriteMessage(parts[0]).subarray(0, 2)), "7f80");
  assert.equal(hex(encodeWriteMessage(parts[1]).subarray(0, 4)), "c0004000");
  assert.equal(hex(encodeWriteMessage(parts[2]).subarray(0, 4)), "80004080");
  assert.equal(fragmentWrite(0, new Uint8Array(0), 10).length, 1);
  assert.throws(() => fragmentWrite(0, data, 0), RangeError);
});

Deno.test("WriteAssembler: delivers only when MORE_BIT is 0", () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
  const asm = new WriteAssembler({ maxBytes: 4096 });
  const parts = fragmentWrite(0x20000000, data, 100);
  for (const [i, p] of parts.entries()) {
    const got = asm.push(decodeWriteMessage(encodeWriteMessage(p)));
    if (i < parts.length - 1) {
      assert.equal(got, null);
      assert.equal(asm.pendingAddress, 0x20000000);
      assert.equal(asm.expectedAddress, 0x20000000 + (i + 1) * 100);
    } else assert.deepEqual(got, { address: 0x20000000, data });
  }
  assert.equal(asm.pendingAddress, undefined);
  // Unfragmented: straight through.
  assert.deepEqual(asm.push({ address: 5, data: new Uint8Array([1]) }), {
    address: 5,
    data: new Uint8Array([1]),
  });
});

Deno.test("WriteAssembler: a fragment at the wrong address is SyntaxError; too much is RangeError", () => {
  const asm = new WriteAssembler({ maxBytes: 150 });
  asm.push({ address: 0, data: new Uint8Array(100), more: true });
  assert.throws(
    () => asm.push({ address: 99, data: new Uint8Array(10) }),
    { name: "SyntaxError", message: /does not continue/ },
  );
  assert.equal(asm.pendingAddress, undefined);
  asm.push({ address: 0, data: new Uint8Array(100), more: true });
  assert.throws(() => asm.push({ address: 100, data: new Uint8Array(51) }), RangeError);
  assert.throws(() => asm.push({ address: 0, data: new Uint8Array(151) }), RangeError);
  // A control-area command may be fragmented too.
  asm.push({ address: CONTROL_AREA_START, data: new Uint8Array([3, 0]), more: true });
  assert.deepEqual(asm.push({ address: CONTROL_AREA_START + 2, data: new Uint8Array([0, 0]) }), {
    address: CONTROL_AREA_START,
    data: new Uint8Array([3, 0, 0, 0]),
  });
});
