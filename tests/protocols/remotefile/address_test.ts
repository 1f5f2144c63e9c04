import assert from "node:assert/strict";
import {
  ADDRESS_MAX,
  addressHeaderSize,
  CONTROL_AREA_SIZE,
  CONTROL_AREA_START,
  decodeAddressHeader,
  encodeAddressHeader,
  HIGH_BIT,
  isControlAddress,
  LOW_ADDRESS_MAX,
  MORE_BIT,
} from "../../../protocols/remotefile/address.ts";

const hex = (b: Uint8Array) => b.toHex();

Deno.test("address header: low form, 2 bytes, HIGH_BIT 0, 14-bit address big-endian", () => {
  assert.equal(HIGH_BIT, 0x80);
  assert.equal(MORE_BIT, 0x40);
  assert.equal(hex(encodeAddressHeader(0)), "0000");
  assert.equal(hex(encodeAddressHeader(0x10)), "0010");
  assert.equal(hex(encodeAddressHeader(0x1234)), "1234");
  assert.equal(hex(encodeAddressHeader(LOW_ADDRESS_MAX)), "3fff");
  assert.equal(hex(encodeAddressHeader(LOW_ADDRESS_MAX, true)), "7fff");
  assert.equal(hex(encodeAddressHeader(0, true)), "4000");
});

Deno.test("address header: high form, 4 bytes, HIGH_BIT 1, 30-bit address big-endian", () => {
  assert.equal(hex(encodeAddressHeader(16384)), "80004000");
  assert.equal(hex(encodeAddressHeader(0x10000)), "80010000");
  assert.equal(hex(encodeAddressHeader(0x4000000)), "84000000");
  assert.equal(hex(encodeAddressHeader(0x20000000)), "a0000000");
  assert.equal(hex(encodeAddressHeader(CONTROL_AREA_START)), "bffffc00");
  assert.equal(hex(encodeAddressHeader(ADDRESS_MAX)), "bfffffff");
  assert.equal(hex(encodeAddressHeader(16384, true)), "c0004000");
  assert.equal(hex(encodeAddressHeader(ADDRESS_MAX, true)), "ffffffff");
  assert.equal(addressHeaderSize(16383), 2);
  assert.equal(addressHeaderSize(16384), 4);
});

Deno.test("address header: decode both forms and MORE_BIT; partial input is null", () => {
  assert.deepEqual(decodeAddressHeader(Uint8Array.fromHex("0010")), {
    address: 0x10,
    more: false,
    size: 2,
  });
  assert.deepEqual(decodeAddressHeader(Uint8Array.fromHex("7fff")), {
    address: 0x3fff,
    more: true,
    size: 2,
  });
  assert.deepEqual(decodeAddressHeader(Uint8Array.fromHex("bffffc00")), {
    address: CONTROL_AREA_START,
    more: false,
    size: 4,
  });
  assert.deepEqual(decodeAddressHeader(Uint8Array.fromHex("ffffffff")), {
    address: ADDRESS_MAX,
    more: true,
    size: 4,
  });
  // A high form holding a low address is accepted, as the reference does.
  assert.deepEqual(decodeAddressHeader(Uint8Array.fromHex("80000010")), {
    address: 0x10,
    more: false,
    size: 4,
  });
  assert.equal(decodeAddressHeader(new Uint8Array(0)), null);
  assert.equal(decodeAddressHeader(Uint8Array.fromHex("00")), null);
  assert.equal(decodeAddressHeader(Uint8Array.fromHex("bfff")), null);
  assert.equal(decodeAddressHeader(Uint8Array.fromHex("bffffc")), null);
});

Deno.test("address header: every low address and sampled high ones round-trip", () => {
  for (let a = 0; a <= LOW_ADDRESS_MAX; a++) {
    for (const more of [false, true]) {
      assert.deepEqual(decodeAddressHeader(encodeAddressHeader(a, more)), {
        address: a,
        more,
        size: 2,
      });
    }
  }
  for (let a = 16384; a <= ADDRESS_MAX; a += 0x10001 * 7) {
    assert.equal(decodeAddressHeader(encodeAddressHeader(a))?.address, a);
  }
});

Deno.test("address header: addresses outside 1 GB throw RangeError", () => {
  for (const a of [-1, 0x40000000, 2 ** 32, 1.5, NaN]) {
    assert.throws(() => encodeAddressHeader(a), RangeError);
  }
});

Deno.test("control area: the last 1 KB, 0x3FFFFC00–0x3FFFFFFF", () => {
  assert.equal(CONTROL_AREA_START, 0x3ffffc00);
  assert.equal(CONTROL_AREA_SIZE, 1024);
  assert.equal(isControlAddress(0x3ffffbff), false);
  assert.equal(isControlAddress(0x3ffffc00), true);
  assert.equal(isControlAddress(0x3fffffff), true);
});
